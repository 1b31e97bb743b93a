using System.Globalization;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// The binaries of one PostgreSQL major version. Tools must match the server they talk to (pg_dump of the
/// server's major or newer, initdb/pg_ctl of exactly the cluster's major), so every lookup names a major.
/// </summary>
/// <remarks>
/// Search order for major N:
/// 1. the environment variable <c>BACKUPDR_PG_BIN_N</c> (e.g. <c>BACKUPDR_PG_BIN_15=/opt/pg15/bin</c>): when it
///    is set, only that folder is used, so a wrong override fails loudly instead of silently using another build;
/// 2. the Debian/Ubuntu layout <c>/usr/lib/postgresql/N/bin</c> (apt packages postgresql-N, postgresql-client-N);
/// 3. the PGDG RPM layout <c>/usr/pgsql-N/bin</c>.
/// Locating never throws; asking for a tool that is absent throws <see cref="PostgresToolMissingException"/>.
/// </remarks>
internal sealed class PostgresInstallation
{
    public const string DebianRoot = "/usr/lib/postgresql";
    public const string RpmRootPrefix = "/usr/pgsql-";
    public const string OverrideVariablePrefix = "BACKUPDR_PG_BIN_";

    private static readonly string[] ClientTools = ["psql", "pg_dump", "pg_dumpall", "pg_restore", "pg_isready"];

    private PostgresInstallation(int major, IReadOnlyList<string> candidates)
    {
        Major = major;
        Candidates = candidates;
    }

    public int Major { get; }

    /// <summary>The folders searched for a tool, in order.</summary>
    public IReadOnlyList<string> Candidates { get; }

    public static string OverrideVariable(int major) => OverrideVariablePrefix + major.ToString(CultureInfo.InvariantCulture);

    /// <summary>Client tools come from postgresql-client-N; server tools (initdb, pg_ctl, postgres) from postgresql-N.</summary>
    public static bool IsClientTool(string tool) => ClientTools.Contains(tool, StringComparer.Ordinal);

    /// <param name="major">The PostgreSQL major version, e.g. 15.</param>
    /// <param name="debianRoot">For tests: replaces <see cref="DebianRoot"/>; also disables the RPM layout.</param>
    /// <param name="environment">For tests: replaces <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    public static PostgresInstallation Locate(int major, string? debianRoot = null, Func<string, string?>? environment = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(major, 9);
        environment ??= Environment.GetEnvironmentVariable;
        var overridden = environment(OverrideVariable(major));
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return new PostgresInstallation(major, [Path.GetFullPath(overridden)]);
        }

        var majorText = major.ToString(CultureInfo.InvariantCulture);
        var candidates = new List<string> { Path.Combine(debianRoot ?? DebianRoot, majorText, "bin") };
        if (debianRoot is null)
        {
            candidates.Add(RpmRootPrefix + majorText + "/bin");
        }

        return new PostgresInstallation(major, candidates);
    }

    /// <summary>Majors that have at least pg_ctl or psql installed, ascending.</summary>
    public static IReadOnlyList<int> InstalledMajors(string? debianRoot = null, Func<string, string?>? environment = null)
    {
        var majors = new SortedSet<int>();
        var root = debianRoot ?? DebianRoot;
        if (Directory.Exists(root))
        {
            foreach (var dir in Directory.EnumerateDirectories(root))
            {
                if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var major))
                {
                    majors.Add(major);
                }
            }
        }

        if (environment is null)
        {
            foreach (var key in Environment.GetEnvironmentVariables().Keys.OfType<string>())
            {
                if (key.StartsWith(OverrideVariablePrefix, StringComparison.Ordinal)
                    && int.TryParse(key.AsSpan(OverrideVariablePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var major))
                {
                    majors.Add(major);
                }
            }
        }

        return majors
            .Where(m => m >= 9)
            .Where(m => Locate(m, debianRoot, environment) is var i && (i.TryFindTool("pg_ctl") is not null || i.TryFindTool("psql") is not null))
            .ToList();
    }

    /// <summary>The full path of <paramref name="tool"/>, or null when no candidate folder holds it.</summary>
    public string? TryFindTool(string tool)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        foreach (var dir in Candidates)
        {
            var path = Path.Combine(dir, tool);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>The full path of <paramref name="tool"/>.</summary>
    /// <exception cref="PostgresToolMissingException">No candidate folder holds it.</exception>
    public string FindTool(string tool) =>
        TryFindTool(tool) ?? throw new PostgresToolMissingException(tool, Major, Candidates);

    /// <summary>Fails early, naming the first missing tool, before a long operation starts.</summary>
    public void RequireTools(params string[] tools)
    {
        foreach (var tool in tools)
        {
            _ = FindTool(tool);
        }
    }
}
