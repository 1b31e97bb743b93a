using System.Diagnostics;
using BackupDr.TestSupport;

namespace BackupDr.Deploy.Tests.Helm;

/// <summary>What one run of helm or kubectl printed and returned.</summary>
internal sealed record ToolResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Output}\nstderr: {Error}";
}

/// <summary>
/// The helm (v4) and kubectl binaries scripts/install-deps.sh unpacks into tools/kube/bin. A missing binary fails
/// the test under CI=true and skips it elsewhere (<see cref="TestEnvironment.Unavailable"/>).
/// </summary>
internal static class KubeTools
{
    private static readonly string BinDirectory = Path.Combine(TestEnvironment.RepositoryRoot, "tools", "kube", "bin");

    public static string ChartDirectory { get; } = Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "helm", "backupdr");

    public static string FleetValues { get; } = Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "helm", "examples", "fleet-values.yaml");

    public static Task<ToolResult> HelmAsync(params string[] args) => RunAsync(Locate("helm"), args);

    public static Task<ToolResult> KubectlAsync(params string[] args) => RunAsync(Locate("kubectl"), args);

    private static string Locate(string name)
    {
        var path = Path.Combine(BinDirectory, name);
        if (!File.Exists(path))
        {
            TestEnvironment.Unavailable(name, $"run scripts/install-deps.sh (it unpacks helm and kubectl into {BinDirectory})");
        }

        return path;
    }

    private static async Task<ToolResult> RunAsync(string path, string[] args)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // No cluster is ever contacted: an empty kubeconfig keeps a developer's own from being read.
        start.Environment["KUBECONFIG"] = "/dev/null";
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "backupdr-helm-cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(Path.GetTempPath(), "backupdr-helm-config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(Path.GetTempPath(), "backupdr-helm-data");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return new ToolResult(process.ExitCode, await output, await error);
    }
}
