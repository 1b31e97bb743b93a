using System.Text.RegularExpressions;
using System.Xml.Linq;
using BackupDr.Deploy.Tests.Helm;
using BackupDr.TestSupport;

namespace BackupDr.Deploy.Tests.Image;

/// <summary>
/// The Dockerfile, read statically: no Docker engine exists where these tests run (and no Dockerfile linter is
/// installed), so the image is never built here. What can be checked without building it is checked.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string Root = TestEnvironment.RepositoryRoot;

    private static readonly IReadOnlyList<Instruction> Instructions = Parse(File.ReadAllText(Path.Combine(Root, "Dockerfile")));

    [Fact]
    public void Stages_SdkBuildThenAspNetRuntime()
    {
        var stages = Instructions.Where(i => i.Name == "FROM").Select(i => i.Arguments).ToList();

        stages.Count.ShouldBe(2);
        stages[0].ShouldMatch(@"^mcr\.microsoft\.com/dotnet/sdk:\S+ AS build$");
        // backupdr serves /healthz, /readyz and /metrics with Kestrel: the ASP.NET Core shared framework is needed.
        Project().Descendants("FrameworkReference").Select(f => (string?)f.Attribute("Include")).ShouldContain("Microsoft.AspNetCore.App");
        stages[1].ShouldMatch(@"^mcr\.microsoft\.com/dotnet/aspnet:\S+ AS runtime$");
        Instructions.Where(i => i.Name == "COPY" && i.Arguments.StartsWith("--from=", StringComparison.Ordinal))
            .Select(i => i.Arguments).ShouldBe(["--from=build /out /app"]);
    }

    [Fact]
    public void Publish_PathAndEntrypoint_MatchTheProjectsAssemblyName()
    {
        var assemblyName = Project().Descendants("AssemblyName").Single().Value;
        var publish = Instructions.Single(i => i.Name == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments;

        publish.ShouldContain("dotnet publish src/BackupWorker/BackupWorker.csproj -c Release");
        publish.ShouldContain("-o /out");
        publish.ShouldContain($"test -x /out/{assemblyName} && test -f /out/{assemblyName}.dll");
        Instructions.Single(i => i.Name == "ENTRYPOINT").Arguments.ShouldBe($"[\"/app/{assemblyName}\"]");
        Instructions.Single(i => i.Name == "CMD").Arguments.ShouldBe("[\"run\"]");
    }

    [Fact]
    public async Task User_LastInstruction_NumericNonRootAsTheChartRunsIt()
    {
        var user = Instructions.Last(i => i.Name == "USER").Arguments;

        var match = NumericUser().Match(user);
        match.Success.ShouldBeTrue($"USER {user} is not numeric uid:gid (Kubernetes' runAsNonRoot can only check a number)");
        var uid = int.Parse(match.Groups["uid"].Value, System.Globalization.CultureInfo.InvariantCulture);
        uid.ShouldBeGreaterThan(0);
        Instructions[^1].Name.ShouldNotBe("USER", "instructions after USER would run as the user; the image ends with ENTRYPOINT/CMD");
        Instructions.SkipWhile(i => i.Name != "USER").Where(i => i.Name == "RUN").ShouldBeEmpty();

        var chart = await RenderedChart.RenderAsync();
        ((string?)chart.PodSpec["securityContext"]!["runAsUser"]).ShouldBe(uid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ((string?)chart.Container["securityContext"]!["runAsUser"]).ShouldBe(uid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Volumes_WritablePaths_AreTheChartsEmptyDirs()
    {
        var volumes = Instructions.Single(i => i.Name == "VOLUME").Arguments;
        var workdir = Instructions.Last(i => i.Name == "WORKDIR").Arguments;
        var chart = await RenderedChart.RenderAsync();
        var emptyDirs = chart.PodSpec["volumes"]!.AsArray().Where(v => v!["emptyDir"] is not null).Select(v => (string)v!["name"]!).ToHashSet();
        // /dev/shm is not the image's to declare: every container runtime mounts one (the chart only enlarges it).
        var mounted = chart.Container["volumeMounts"]!.AsArray()
            .Where(m => emptyDirs.Contains((string)m!["name"]!))
            .Select(m => (string)m!["mountPath"]!)
            .Where(p => p != "/dev/shm")
            .ToList();

        mounted.Order().ShouldBe(["/tmp", "/var/lib/backupdr"]);
        foreach (var path in mounted)
        {
            volumes.ShouldContain($"\"{path}\"");
        }

        workdir.ShouldBe("/var/lib/backupdr");
        Instructions.Single(i => i.Name == "ENV").Arguments.ShouldContain("HOME=/var/lib/backupdr");
        Instructions.Single(i => i.Name == "ENV").Arguments.ShouldContain("TMPDIR=/tmp");
    }

    [Fact]
    public void PostgresTools_EverySupportedMajor_InstalledAndChecked()
    {
        var majors = Instructions.Single(i => i.Name == "ARG" && i.Arguments.StartsWith("PG_MAJORS=", StringComparison.Ordinal)).Arguments;
        var install = Instructions.Single(i => i.Name == "RUN" && i.Arguments.Contains("apt.postgresql.org", StringComparison.Ordinal)).Arguments;

        majors.ShouldBe("PG_MAJORS=\"15 16 17\"");
        install.ShouldContain("postgresql-client-$major");
        install.ShouldContain("/usr/lib/postgresql/$major/bin/pg_dump --version");
        install.ShouldContain("/usr/lib/postgresql/$major/bin/pg_restore --version");
        install.ShouldContain("create_main_cluster = false");
    }

    [Fact]
    public void Secrets_NoneBakedIn()
    {
        foreach (var instruction in Instructions.Where(i => i.Name is "ENV" or "ARG" or "LABEL"))
        {
            instruction.Arguments.ShouldNotMatch("(?i)(password|passphrase|secret|token|access_key|connectionstring)",
                $"{instruction.Name} {instruction.Arguments} would bake a secret into the image");
        }

        foreach (var copy in Instructions.Where(i => i.Name is "COPY" or "ADD"))
        {
            copy.Arguments.ShouldNotMatch(@"(?i)(passphrase|\.pem|\.key|\.env|data/|^\. )", $"{copy.Name} {copy.Arguments}");
        }

        var ignored = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Select(l => l.Trim()).ToList();
        ignored.ShouldContain("data/");
        ignored.ShouldContain("**/passphrase*");
        ignored.ShouldContain(".git/");
    }

    private static XDocument Project() => XDocument.Load(Path.Combine(Root, "src", "BackupWorker", "BackupWorker.csproj"));

    /// <summary>Instructions with continuation lines joined and comments dropped.</summary>
    private static List<Instruction> Parse(string dockerfile)
    {
        var instructions = new List<Instruction>();
        var current = "";
        foreach (var raw in dockerfile.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            current += line.EndsWith('\\') ? line[..^1] + " " : line;
            if (!line.EndsWith('\\'))
            {
                var space = current.IndexOf(' ', StringComparison.Ordinal);
                instructions.Add(new Instruction(current[..space].ToUpperInvariant(), WhiteSpace().Replace(current[(space + 1)..], " ").Trim()));
                current = "";
            }
        }

        return instructions;
    }

    [GeneratedRegex(@"^(?<uid>[0-9]+)(:[0-9]+)?$")]
    private static partial Regex NumericUser();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();

    private sealed record Instruction(string Name, string Arguments);
}
