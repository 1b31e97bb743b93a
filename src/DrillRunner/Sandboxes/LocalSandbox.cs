using System.Runtime.ExceptionServices;
using BackupDr.Repository.Postgres;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.DrillRunner.Sandboxes;

/// <summary>
/// Local sandboxes: one folder per drill under <c>Sandbox:WorkPath</c> holding <c>sandbox.json</c> (the owner, written
/// first), <c>pg/</c> (a throwaway cluster made with initdb of the backup's major), <c>filestore/</c> and
/// <c>staging/</c>. The server listens on its own unix socket and 127.0.0.1 on a free port, without data checksums
/// (the copy lives for minutes, the fingerprints probe checks its rows against the backup, and with checksums the
/// probes' first read of the restored 1 GB wrote as much again into the WAL as full-page images of hint bits: 377 MB
/// and 0.9 s more for the journal items of the 200000 fixture), with archiving off, no
/// archive or restore command, and no WAL senders or replication slots: a restored copy can neither ship WAL into a
/// production archive nor act as, or follow, a replica. Nothing in a sandbox knows the source's address.
/// </summary>
internal sealed class LocalSandboxProvider(string workPath, TimeProvider time, ILogger<LocalSandboxProvider> logger) : ISandboxProvider
{
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
        var folder = await SandboxFolder.CreateAsync(WorkPath, request, time, cancellationToken);
        return new LocalSandbox(folder.Id, folder.Path, request.PostgresMajor, folder.StagingPath, folder.FilestorePath, time, logger);
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
}

/// <summary>A provisioned local sandbox; see <see cref="LocalSandboxProvider"/>.</summary>
internal sealed partial class LocalSandbox : ISandbox
{
    /// <summary>How long teardown may take once the drill's own token is gone (teardown must run after cancellation).</summary>
    private static readonly TimeSpan TeardownTimeout = TimeSpan.FromMinutes(2);

    private readonly string _folder;
    private readonly int _major;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SandboxStart _start = new();
    private PostgresCluster? _cluster;
    private bool _tornDown;

    internal LocalSandbox(string id, string folder, int major, string stagingPath, string filestorePath, TimeProvider time, ILogger logger)
    {
        Id = id;
        _folder = folder;
        _major = major;
        StagingPath = stagingPath;
        FilestorePath = filestorePath;
        _time = time;
        _logger = logger;
    }

    public string Kind => "local";

    public string Placement => "on 127.0.0.1 and a unix socket";

    public IReadOnlyList<string> Diagnostics => [];

    public string Id { get; }

    public string ServerVersion { get; private set; } = "";

    public string FilestorePath { get; }

    public string StagingPath { get; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_tornDown, this);
        return _start.Run(Id, StartServerAsync, cancellationToken);
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        var options = new PostgresClusterOptions { Settings = LocalSandboxProvider.IsolationSettings, DataChecksums = false, TimeProvider = _time };
        _cluster = await PostgresCluster.CreateAsync(_major, Path.Combine(_folder, "pg"), options, cancellationToken);
        await _cluster.StartAsync(cancellationToken);
        var builder = _cluster.ConnectionString();
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        ServerVersion = connection.ServerVersion;
        LogStarted(_logger, Id, _major, _cluster.Port, _folder);
    }

    public string ConnectionString(string database)
    {
        var cluster = _cluster is not null && _start.Succeeded
            ? _cluster
            : throw new InvalidOperationException($"sandbox {Id} is not started");
        // Through the unix socket: the restore and the probes' COPY move the whole database through it, and it costs
        // the server less CPU than loopback TCP (10 % less for COPY of the 200000 fixture's journal items).
        var builder = cluster.ConnectionString(database);
        builder.Host = cluster.SocketDirectory;
        builder.ApplicationName = "backupdr-drill";
        return builder.ConnectionString;
    }

    public async Task TeardownAsync(CancellationToken cancellationToken)
    {
        if (_tornDown)
        {
            return;
        }

        // A start still running (the drill failed meanwhile) is stopped and awaited before its folder goes.
        await _start.StopAsync();

        // Pooled connections to the sandbox would hold the server up during its shutdown.
        NpgsqlConnection.ClearAllPools();
        await RemoveAsync(_folder, _cluster, _time);
        _tornDown = true;
        _start.Dispose();
    }

    public async ValueTask DisposeAsync() => await TeardownAsync(CancellationToken.None);

    /// <summary>
    /// Stops the cluster (when there is one) and deletes the sandbox folder, with its own timeout: it runs after the
    /// drill's token may have been cancelled. The restored filestore (thousands of files, none of them the server's) is
    /// deleted while the server stops and its data folder goes.
    /// </summary>
    internal static async Task RemoveAsync(string folder, PostgresCluster? cluster, TimeProvider time)
    {
        using var timeout = new CancellationTokenSource(TeardownTimeout, time);
        var filestore = Task.Run(() => DeleteFilestore(Path.Combine(folder, SandboxFolder.FilestoreName)), CancellationToken.None);
        try
        {
            if (cluster is null && File.Exists(Path.Combine(folder, "pg", PostgresCluster.StateFileName)))
            {
                cluster = await PostgresCluster.OpenAsync(Path.Combine(folder, "pg"), new PostgresClusterOptions(), timeout.Token);
            }

            if (cluster is not null)
            {
                await cluster.DestroyAsync(timeout.Token, immediate: true);
            }
        }
        finally
        {
            // Awaited whatever happened to the server: a failure of both reports the server's, and the folder stays for the janitor.
            await filestore.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await filestore;
        DeleteFolder(folder);
    }

    /// <summary>
    /// Deletes a restored filestore, its prefix folders (up to 256) side by side: the bench fixture's 10,000 files went
    /// in 0.15 s against 0.28 s one folder after the other, on 2 cores.
    /// </summary>
    private static void DeleteFilestore(string path)
    {
        if (!Directory.Exists(path))
        {
            return;
        }

        try
        {
            Parallel.ForEach(Directory.EnumerateDirectories(path), new ParallelOptions { MaxDegreeOfParallelism = 2 * Environment.ProcessorCount },
                prefix => Directory.Delete(prefix, recursive: true));
        }
        catch (AggregateException e)
        {
            ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }

        Directory.Delete(path, recursive: true);
    }

    private static void DeleteFolder(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: PostgreSQL {Major} on 127.0.0.1:{Port}, in {Folder}")]
    private static partial void LogStarted(ILogger logger, string sandboxId, int major, int port, string folder);
}
