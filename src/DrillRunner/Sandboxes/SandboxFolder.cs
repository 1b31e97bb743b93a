namespace BackupDr.DrillRunner.Sandboxes;

/// <summary>
/// A drill's folder under <c>Sandbox:WorkPath</c>: <c>sbx-&lt;drill-id&gt;/</c> with <c>sandbox.json</c> (the owner,
/// written first, so <see cref="SandboxJanitor"/> can tell a live drill from a crashed one), <c>staging/</c> and
/// <c>filestore/</c> (0700). Both sandbox kinds have one: the local kind adds its cluster under <c>pg/</c>; the
/// Kubernetes kind keeps only the worker's staging and the restored filestore here.
/// </summary>
internal sealed record SandboxFolder(string Id, string Path, string StagingPath, string FilestorePath)
{
    public const string Prefix = "sbx-";

    public const string FilestoreName = "filestore";

    /// <summary>Creates the folder; on failure or cancellation nothing is left behind.</summary>
    public static async Task<SandboxFolder> CreateAsync(string workPath, SandboxRequest request, TimeProvider time, CancellationToken cancellationToken)
    {
        var id = Prefix + request.DrillId.ToLowerInvariant();
        var folder = System.IO.Path.Combine(workPath, id);
        Directory.CreateDirectory(workPath);
        Directory.CreateDirectory(folder);
        try
        {
            await SandboxOwner.Current(request.DrillId, request.Target, time.GetUtcNow()).WriteAsync(folder, cancellationToken);
            const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            var staging = Directory.CreateDirectory(System.IO.Path.Combine(folder, "staging"), Private);
            var filestore = Directory.CreateDirectory(System.IO.Path.Combine(folder, FilestoreName), Private);
            return new SandboxFolder(id, folder, staging.FullName, filestore.FullName);
        }
        catch (Exception)
        {
            // Creation failed or was cancelled: leave nothing behind, whatever the cause (then report it unchanged).
            await LocalSandbox.RemoveAsync(folder, cluster: null, time);
            throw;
        }
    }
}
