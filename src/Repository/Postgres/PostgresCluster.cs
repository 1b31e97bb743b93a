using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// A throwaway local PostgreSQL cluster in a folder of its own: for sandboxes, tests and the demo.
/// </summary>
/// <remarks>
/// <para>Layout of the data root: <c>pgdata/</c> (PGDATA), <c>sock/</c> (unix socket), <c>postgres.log</c>,
/// <c>cluster.json</c> (written last: a folder without it is an unfinished cluster).</para>
/// <para>Authentication is <c>trust</c>, and the server listens on 127.0.0.1 and its own socket folder only:
/// the cluster holds throwaway copies, and a password would have to travel to every tool the drills run.
/// Anyone who can open a local TCP connection can use it while it runs, so it must not hold data that is
/// more secret than the host itself.</para>
/// <para>When this process runs as root, the folder is chowned to <see cref="PostgresClusterOptions.OsUser"/>
/// and initdb, pg_ctl and the server run as that user (PostgreSQL refuses to run as root).</para>
/// </remarks>
internal sealed partial class PostgresCluster : IAsyncDisposable
{
    public const string StateFileName = "cluster.json";
    public const string LogFileName = "postgres.log";
    private const string DataFolderName = "pgdata";
    private const string ConfigFileName = "backupdr.conf";
    private const int MaxSocketPathBytes = 107;

    private readonly PostgresInstallation _installation;
    private readonly PostgresClusterOptions _options;
    private ClusterState _state;

    private PostgresCluster(PostgresInstallation installation, string dataRoot, ClusterState state, PostgresClusterOptions options)
    {
        _installation = installation;
        DataRoot = dataRoot;
        _state = state;
        _options = options;
    }

    public int Major => _state.Major;

    public string DataRoot { get; }

    public string DataDirectory => Path.Combine(DataRoot, DataFolderName);

    public string LogFile => Path.Combine(DataRoot, LogFileName);

    /// <summary>Always 127.0.0.1: the server listens on the loopback interface only.</summary>
    public string Host { get; } = "127.0.0.1";

    public int Port => _state.Port;

    public string SocketDirectory => _state.SocketDirectory;

    public string Superuser => _state.Superuser;

    public string BinDirectory => Path.GetDirectoryName(_installation.FindTool("pg_ctl"))!;

    /// <summary>
    /// Runs initdb in <paramref name="dataRoot"/> (absent or empty) and writes the configuration. Does not start it.
    /// </summary>
    /// <exception cref="PostgresToolMissingException">initdb, pg_ctl or postgres of <paramref name="major"/> is missing.</exception>
    public static async Task<PostgresCluster> CreateAsync(int major, string dataRoot, PostgresClusterOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var installation = PostgresInstallation.Locate(major);
        installation.RequireTools("initdb", "pg_ctl", "postgres");
        dataRoot = Path.GetFullPath(dataRoot);
        if (Directory.Exists(dataRoot) && Directory.EnumerateFileSystemEntries(dataRoot).Any())
        {
            throw new InvalidOperationException($"Cannot create a PostgreSQL cluster in {dataRoot}: the folder is not empty.");
        }

        Directory.CreateDirectory(dataRoot);
        var socketDirectory = ChooseSocketDirectory(dataRoot);
        Directory.CreateDirectory(socketDirectory);
        var state = new ClusterState(major, options.Port ?? FreePort(), socketDirectory, options.Superuser, ChildProcess.IsRoot ? options.OsUser : null);
        var cluster = new PostgresCluster(installation, dataRoot, state, options);
        await cluster.ChownAsync(cancellationToken, dataRoot, socketDirectory);

        await cluster.RunAsync("initdb",
            ["-D", cluster.DataDirectory, "-U", options.Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions",
                .. options.DataChecksums ? ["--data-checksums"] : Array.Empty<string>()],
            cancellationToken);
        var conf = Path.Combine(cluster.DataDirectory, "postgresql.conf");
        await File.AppendAllTextAsync(conf, $"\n# BackupDr throwaway cluster settings\ninclude '{ConfigFileName}'\n", cancellationToken);
        await cluster.WriteConfigAsync(cancellationToken);
        await cluster.WriteStateAsync(cancellationToken);
        return cluster;
    }

    /// <summary>Opens the cluster left in <paramref name="dataRoot"/> by an earlier run, or creates one. Does not start it.</summary>
    public static async Task<PostgresCluster> OpenOrCreateAsync(int major, string dataRoot, PostgresClusterOptions options, CancellationToken cancellationToken)
    {
        dataRoot = Path.GetFullPath(dataRoot);
        if (File.Exists(Path.Combine(dataRoot, StateFileName)))
        {
            return await OpenAsync(dataRoot, options, cancellationToken);
        }

        if (Directory.Exists(dataRoot))
        {
            // An unfinished create (crash before cluster.json): only our own entries may be removed.
            var known = new[] { DataFolderName, "sock", LogFileName };
            var entries = Directory.EnumerateFileSystemEntries(dataRoot).Select(Path.GetFileName).ToList();
            if (entries.Any(e => !known.Contains(e)))
            {
                throw new InvalidOperationException($"{dataRoot} is neither empty nor a BackupDr cluster folder (no {StateFileName}).");
            }

            Directory.Delete(dataRoot, recursive: true);
        }

        return await CreateAsync(major, dataRoot, options, cancellationToken);
    }

    /// <summary>Opens an existing cluster folder (see <see cref="StateFileName"/>). Does not start it.</summary>
    public static async Task<PostgresCluster> OpenAsync(string dataRoot, PostgresClusterOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        dataRoot = Path.GetFullPath(dataRoot);
        await using var stream = File.OpenRead(Path.Combine(dataRoot, StateFileName));
        var state = await JsonSerializer.DeserializeAsync<ClusterState>(stream, cancellationToken: cancellationToken)
            ?? throw new InvalidOperationException($"{Path.Combine(dataRoot, StateFileName)} is empty.");
        var installation = PostgresInstallation.Locate(state.Major);
        installation.RequireTools("pg_ctl", "postgres");
        Directory.CreateDirectory(state.SocketDirectory);
        var cluster = new PostgresCluster(installation, dataRoot, state, options);
        await cluster.ChownAsync(cancellationToken, state.SocketDirectory);
        return cluster;
    }

    /// <summary>A connection string for <paramref name="database"/> as the superuser, over TCP on 127.0.0.1.</summary>
    public NpgsqlConnectionStringBuilder ConnectionString(string database = "postgres") => new()
    {
        Host = Host,
        Port = Port,
        Username = Superuser,
        Database = database,
    };

    /// <summary>
    /// Starts the server and returns once it accepts connections. Idempotent: a server already answering is reused.
    /// A postmaster.pid left by a crash is handled: a live server is waited for, a dead or foreign pid is removed.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await AcceptsConnectionsAsync(cancellationToken))
        {
            return;
        }

        await ClearStalePidFileAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            if (_options.Port is null && !IsPortFree(Port))
            {
                await ChangePortAsync(cancellationToken);
            }

            var timeout = ((int)Math.Ceiling(_options.StartTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            try
            {
                await RunAsync("pg_ctl", ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", timeout], cancellationToken);
                break;
            }
            catch (ChildProcessException) when (attempt < 3 && _options.Port is null && LogTail().Contains("already in use", StringComparison.Ordinal))
            {
                // Another process took the port between our check and the bind: pick another one.
                await ChangePortAsync(cancellationToken);
            }
            catch (ChildProcessException ex)
            {
                throw new InvalidOperationException($"{ex.Message}\nServer log {LogFile} ends with:\n{LogTail()}", ex);
            }
        }

        await WaitUntilReadyAsync(cancellationToken);
    }

    /// <summary>Stops the server (pg_ctl stop, fast mode by default). Idempotent: a stopped server is fine.</summary>
    public async Task StopAsync(CancellationToken cancellationToken, string mode = "fast")
    {
        if (!await IsRunningAsync(cancellationToken))
        {
            return;
        }

        await RunAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", mode, "-w", "-t", "60"], cancellationToken);
    }

    /// <summary>True when pg_ctl sees a live postmaster for this data folder.</summary>
    public async Task<bool> IsRunningAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync("pg_ctl", ["status", "-D", DataDirectory], cancellationToken, throwOnFailure: false);
        return result.ExitCode == 0;
    }

    /// <summary>Stops the server (immediate mode if fast fails) and deletes the folder, unless the cluster is persistent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_options.Persistent)
        {
            return;
        }

        await DestroyAsync(CancellationToken.None);
    }

    /// <summary>Stops the server and deletes the data root (and a socket folder outside it), whatever the options say.</summary>
    /// <param name="immediate">Stop without a shutdown checkpoint: the data is deleted next, so there is nothing to write.</param>
    public async Task DestroyAsync(CancellationToken cancellationToken, bool immediate = false)
    {
        if (Directory.Exists(DataDirectory))
        {
            try
            {
                await StopAsync(cancellationToken, immediate ? "immediate" : "fast");
            }
            catch (ChildProcessException)
            {
                // A fast shutdown waits for nothing but may still fail on a wedged server: stop it without a checkpoint.
                await StopAsync(cancellationToken, "immediate");
            }
        }

        if (Directory.Exists(DataRoot))
        {
            Directory.Delete(DataRoot, recursive: true);
        }

        if (Directory.Exists(SocketDirectory))
        {
            Directory.Delete(SocketDirectory, recursive: true);
        }
    }

    /// <summary>The last lines of the server log, for error messages.</summary>
    public string LogTail(int maxChars = 4000)
    {
        if (!File.Exists(LogFile))
        {
            return "(no server log)";
        }

        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        stream.Seek(Math.Max(0, stream.Length - maxChars), SeekOrigin.Begin);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private async Task<bool> AcceptsConnectionsAsync(CancellationToken cancellationToken)
    {
        var builder = ConnectionString();
        builder.Pooling = false;
        builder.Timeout = 3;
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT current_setting('data_directory')", connection);
            var dataDirectory = (string?)await command.ExecuteScalarAsync(cancellationToken);
            // Another cluster may listen on our old port: only our own data folder counts.
            return string.Equals(Path.GetFullPath(dataDirectory ?? ""), DataDirectory, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
        {
            return false;
        }
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        // pg_ctl -w returns when the postmaster says it is ready, which is not always when a client can work
        // (e.g. a restored copy still promoting): poll until a real query succeeds, up to the start timeout.
        var time = _options.TimeProvider;
        var deadline = time.GetUtcNow() + _options.StartTimeout;
        while (!await AcceptsConnectionsAsync(cancellationToken))
        {
            if (time.GetUtcNow() >= deadline)
            {
                throw new TimeoutException(
                    $"PostgreSQL in {DataDirectory} did not accept connections on port {Port} within {_options.StartTimeout}. Server log ends with:\n{LogTail()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
        }
    }

    private async Task ClearStalePidFileAsync(CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        var firstLine = File.ReadLines(pidFile).FirstOrDefault();
        if (!int.TryParse(firstLine, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) || !IsPostgresProcess(pid))
        {
            // The server crashed (or the host rebooted) and the pid is dead or now belongs to another program.
            File.Delete(pidFile);
            return;
        }

        // A server of ours from an earlier run is alive but does not answer: it may still be starting or
        // recovering. Give it the start timeout, then stop it hard so a clean start can follow.
        try
        {
            await WaitUntilReadyAsync(cancellationToken);
        }
        catch (TimeoutException)
        {
            await StopAsync(cancellationToken, "immediate");
        }
    }

    private static bool IsPostgresProcess(int pid)
    {
        var comm = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm";
        try
        {
            return File.Exists(comm) && File.ReadAllText(comm).Trim() is "postgres" or "postmaster";
        }
        catch (IOException)
        {
            return false;
        }
    }

    private async Task ChangePortAsync(CancellationToken cancellationToken)
    {
        _state = _state with { Port = FreePort() };
        await WriteConfigAsync(cancellationToken);
        await WriteStateAsync(cancellationToken);
    }

    private async Task WriteConfigAsync(CancellationToken cancellationToken)
    {
        var settings = new List<(string Name, string Value)>
        {
            ("listen_addresses", "'127.0.0.1'"),
            ("port", Port.ToString(CultureInfo.InvariantCulture)),
            ("unix_socket_directories", Quote(SocketDirectory)),
            ("archive_mode", "off"),
            ("wal_level", _options.WalLevel == PostgresWalLevel.Minimal ? "minimal" : "replica"),
            ("max_wal_senders", _options.WalLevel == PostgresWalLevel.Minimal ? "0" : "10"),
            ("shared_buffers", Quote(_options.SharedBuffers)),
            ("logging_collector", "off"),
            ("log_line_prefix", "'%m [%p] %q%u@%d '"),
            ("timezone", "'UTC'"),
            ("log_timezone", "'UTC'"),
        };
        settings.AddRange(_options.Settings.Select(s => (s.Key, s.Value)));
        var text = new StringBuilder("# Written by BackupDr (PostgresCluster); rewritten when the port changes.\n");
        foreach (var (name, value) in settings)
        {
            text.Append(name).Append(" = ").Append(value).Append('\n');
        }

        var path = Path.Combine(DataDirectory, ConfigFileName);
        await File.WriteAllTextAsync(path, text.ToString(), cancellationToken);
        await ChownAsync(cancellationToken, path);
    }

    private async Task WriteStateAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(DataRoot, StateFileName);
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(_state), cancellationToken);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// Runs a shell command line as the server runs its <c>restore_command</c>: through <c>/bin/sh -c</c>, as the server's
    /// OS user, with the cluster's environment. The exit code and the standard error tail are returned, never thrown.
    /// </summary>
    public Task<ChildProcessResult> RunShellAsServerAsync(string commandLine, CancellationToken cancellationToken) =>
        ChildProcess.RunAsync(
            new ChildProcessRequest("/bin/sh", ["-c", commandLine])
            {
                RunAsUser = _state.OsUser,
                ThrowOnFailure = false,
                Environment = ServerEnvironment,
            },
            cancellationToken);

    /// <summary>The OS user the server runs as when this process is root; null when it runs as this process's user.</summary>
    public string? OsUser => _state.OsUser;

    private Task<ChildProcessResult> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool throwOnFailure = true) =>
        ChildProcess.RunAsync(
            new ChildProcessRequest(_installation.FindTool(tool), arguments)
            {
                RunAsUser = _state.OsUser,
                ThrowOnFailure = throwOnFailure,
                Environment = ServerEnvironment,
            },
            cancellationToken);

    /// <summary>The environment of the tools run on the cluster, and so of the server pg_ctl starts (and its restore_command).</summary>
    private Dictionary<string, string?> ServerEnvironment =>
        new(_options.Environment) { ["PGDATA"] = null, ["PGPORT"] = null, ["PGHOST"] = null };

    private async Task ChownAsync(CancellationToken cancellationToken, params string[] paths)
    {
        if (_state.OsUser is null)
        {
            return;
        }

        await ChildProcess.RunAsync(new ChildProcessRequest("chown", ["-R", "--", _state.OsUser + ":", .. paths]), cancellationToken);
    }

    private static string ChooseSocketDirectory(string dataRoot)
    {
        var inside = Path.Combine(dataRoot, "sock");
        if (Encoding.UTF8.GetByteCount(inside + "/.s.PGSQL.65535") <= MaxSocketPathBytes)
        {
            return inside;
        }

        // Unix socket paths are limited to ~107 bytes: fall back to a short folder named after the data root.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dataRoot)))[..16];
        return Path.Combine(Path.GetTempPath(), "bdr-pg-" + hash);
    }

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsPortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>What <c>cluster.json</c> holds: enough to reopen the cluster in a later process.</summary>
    private sealed record ClusterState(int Major, int Port, string SocketDirectory, string Superuser, string? OsUser);
}
