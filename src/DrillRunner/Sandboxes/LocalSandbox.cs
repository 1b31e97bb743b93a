using BackupDr.Repository.Postgres;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.DrillRunner.Sandboxes;

/// <summary>
/// Local sandboxes: one folder per drill under <c>Sandbox:WorkPath</c> holding <c>sandbox.json</c> (the owner, written
/// first), <c>pg/</c> (a throwaway cluster made with initdb of the backup's major), <c>filestore/</c> and
/// <c>staging/</c>. The server listens on its own unix socket and 127.0.0.1 on a free port, with archiving off, no
/// archive or restore command, and no WAL senders or replication slots: a restored copy can neither ship WAL into a
/// production archive nor act as, or follow, a replica. Nothing in a sandbox knows the source's address.
/// </summary>
internal sealed partial class LocalSandboxProvider(string workPath, TimeProvider time, ILogger<LocalSandboxProvider> logger) : ISandboxProvider
{
    public const string FolderPrefix = "sbx-";

    /// <summary>Settings on top of <see cref="PostgresCluster"/>'s own (archive_mode=off, wal_level=minimal, max_wal_senders=0).</summary>
    internal static readonly IReadOnlyDictionary<string, string> IsolationSettings = new Dictionary<string, string>
    {
        ["archive_command"] = "''",
        ["restore_command"] = "''",
        ["max_replication_slots"] = "0",
        ["primary_conninfo"] = "''",
        ["hot_standby"] = "off",
    };

    public string Kind => "local";

    public string WorkPath { get; } = Path.GetFullPath(workPath);

    public async Task<ISandbox> ProvisionAsync(SandboxRequest request, CancellationToken cancellationToken)
    {
        // Fail before touching the disk when the binaries are missing: the message names the package to install.
        PostgresInstallation.Locate(request.PostgresMajor).RequireTools("initdb", "pg_ctl", "postgres");
        RequireReachableByServer(WorkPath);
        var id = FolderPrefix + request.DrillId.ToLowerInvariant();
        var folder = Path.Combine(WorkPath, id);
        Directory.CreateDirectory(WorkPath);
        Directory.CreateDirectory(folder);
        PostgresCluster? cluster = null;
        try
        {
            await SandboxOwner.Current(request.DrillId, request.Target, time.GetUtcNow()).WriteAsync(folder, cancellationToken);
            var staging = Directory.CreateDirectory(Path.Combine(folder, "staging"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var filestore = Directory.CreateDirectory(Path.Combine(folder, "filestore"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var options = new PostgresClusterOptions { Settings = IsolationSettings, TimeProvider = time };
            cluster = await PostgresCluster.CreateAsync(request.PostgresMajor, Path.Combine(folder, "pg"), options, cancellationToken);
            await cluster.StartAsync(cancellationToken);
            var version = await ServerVersionAsync(cluster, cancellationToken);
            LogProvisioned(logger, id, request.PostgresMajor, cluster.Port, folder);
            return new LocalSandbox(id, folder, cluster, version, staging.FullName, filestore.FullName, time);
        }
        catch (Exception e)
        {
            // Provisioning failed or was cancelled: leave nothing behind, whatever the cause (then report it unchanged).
            LogProvisionFailed(logger, id, e.Message);
            await LocalSandbox.RemoveAsync(folder, cluster, time);
            throw;
        }
    }

    /// <summary>
    /// As root, the server runs as the <c>postgres</c> user, which must be able to traverse every folder above the
    /// sandbox; a 0700 folder on the way (a home folder, a private temp folder) would make initdb fail obscurely.
    /// </summary>
    private static void RequireReachableByServer(string path)
    {
        if (!ChildProcess.IsRoot)
        {
            return;
        }

        for (var folder = new DirectoryInfo(path); folder is not null; folder = folder.Parent)
        {
            if (folder.Exists && (folder.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                throw new InvalidOperationException(
                    $"Sandbox:WorkPath {path}: the sandbox server runs as the postgres user, which cannot enter {folder.FullName} (mode {Convert.ToString((int)folder.UnixFileMode, 8)}); "
                    + "choose a WorkPath every user may traverse, e.g. /var/lib/backupdr/sandboxes.");
            }
        }
    }

    private static async Task<string> ServerVersionAsync(PostgresCluster cluster, CancellationToken cancellationToken)
    {
        var builder = cluster.ConnectionString();
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection.ServerVersion;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: PostgreSQL {Major} on 127.0.0.1:{Port}, in {Folder}")]
    private static partial void LogProvisioned(ILogger logger, string sandboxId, int major, int port, string folder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sandbox {SandboxId} could not be provisioned, removing what was made: {Error}")]
    private static partial void LogProvisionFailed(ILogger logger, string sandboxId, string error);
}

/// <summary>A provisioned local sandbox; see <see cref="LocalSandboxProvider"/>.</summary>
internal sealed class LocalSandbox : ISandbox
{
    /// <summary>How long teardown may take once the drill's own token is gone (teardown must run after cancellation).</summary>
    private static readonly TimeSpan TeardownTimeout = TimeSpan.FromMinutes(2);

    private readonly PostgresCluster _cluster;
    private readonly string _folder;
    private readonly TimeProvider _time;
    private bool _tornDown;

    internal LocalSandbox(string id, string folder, PostgresCluster cluster, string serverVersion, string stagingPath, string filestorePath, TimeProvider time)
    {
        Id = id;
        _folder = folder;
        _cluster = cluster;
        ServerVersion = serverVersion;
        StagingPath = stagingPath;
        FilestorePath = filestorePath;
        _time = time;
    }

    public string Kind => "local";

    public string Id { get; }

    public string ServerVersion { get; }

    public string FilestorePath { get; }

    public string StagingPath { get; }

    public string ConnectionString(string database)
    {
        var builder = _cluster.ConnectionString(database);
        builder.ApplicationName = "backupdr-drill";
        return builder.ConnectionString;
    }

    public async Task TeardownAsync(CancellationToken cancellationToken)
    {
        if (_tornDown)
        {
            return;
        }

        // Pooled connections to the sandbox would hold the server up during its fast shutdown.
        NpgsqlConnection.ClearAllPools();
        await RemoveAsync(_folder, _cluster, _time);
        _tornDown = true;
    }

    public async ValueTask DisposeAsync() => await TeardownAsync(CancellationToken.None);

    /// <summary>
    /// Stops the cluster (when there is one) and deletes the sandbox folder, with its own timeout: it runs after the
    /// drill's token may have been cancelled.
    /// </summary>
    internal static async Task RemoveAsync(string folder, PostgresCluster? cluster, TimeProvider time)
    {
        using var timeout = new CancellationTokenSource(TeardownTimeout, time);
        if (cluster is null && File.Exists(Path.Combine(folder, "pg", PostgresCluster.StateFileName)))
        {
            cluster = await PostgresCluster.OpenAsync(Path.Combine(folder, "pg"), new PostgresClusterOptions(), timeout.Token);
        }

        if (cluster is not null)
        {
            await cluster.DestroyAsync(timeout.Token);
        }

        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
