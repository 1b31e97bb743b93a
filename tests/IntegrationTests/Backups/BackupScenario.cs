using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Cli;
using BackupDr.OdooDemo;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Postgres;
using BackupDr.Repository.Storage;
using BackupDr.TestSupport;
using Npgsql;

namespace BackupDr.IntegrationTests.Backups;

/// <summary>Where a scenario's repository lives: the Repository section of its configuration, and the secrets it needs.</summary>
internal sealed record RepositorySetup(JsonObject Section, IReadOnlyDictionary<string, string> Variables)
{
    public static RepositorySetup Local(string path) => new(new JsonObject { ["Kind"] = "Local", ["Path"] = path }, new Dictionary<string, string>());

    public static async Task<RepositorySetup> S3Async(S3rverFixture s3, CancellationToken cancellationToken)
    {
        // The AWS SDK reads credentials from the process environment; every S3 test uses s3rver's fixed pair.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverFixture.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverFixture.SecretKey);
        var bucket = await s3.CreateBucketAsync(cancellationToken);
        return new(
            new JsonObject
            {
                ["Kind"] = "S3",
                ["S3"] = new JsonObject { ["Bucket"] = bucket, ["Prefix"] = "fleet/eu", ["ServiceUrl"] = s3.ServiceUrl.ToString(), ["Region"] = S3rverFixture.Region, ["ForcePathStyle"] = true },
            },
            new Dictionary<string, string>());
    }

    public static async Task<RepositorySetup> AzureAsync(AzuriteFixture azure, CancellationToken cancellationToken)
    {
        var container = await azure.CreateContainerAsync(cancellationToken);
        return new(
            new JsonObject { ["Kind"] = "Azure", ["Azure"] = new JsonObject { ["Container"] = container, ["Prefix"] = "fleet/eu" } },
            new Dictionary<string, string> { ["BackupDr__Repository__Azure__ConnectionString"] = azure.ConnectionString });
    }
}

/// <summary>
/// One backup scenario: a demo Odoo database in the shared PostgreSQL 15 server, a repository, a passphrase and a
/// configuration file naming target <see cref="Target"/>; commands run through the real CLI.
/// </summary>
internal sealed class BackupScenario : IAsyncDisposable
{
    public const string Target = "acme-prod";
    public const string Passphrase = "correct horse battery staple 42";

    private readonly PostgresFixture _postgres;
    private readonly List<string> _databases = [];

    private BackupScenario(PostgresFixture postgres, string folder, TestDatabase source)
    {
        _postgres = postgres;
        Folder = folder;
        Source = source;
        _databases.Add(source.Name);
    }

    public string Folder { get; }

    public TestDatabase Source { get; }

    public string ConfigPath => Path.Combine(Folder, "backupdr.json");

    public string LocalRepositoryPath => Path.Combine(Folder, "repository");

    /// <summary>
    /// Sandbox:WorkPath. Not under <see cref="Folder"/>: temp subdirectories are 0700, and a sandbox server runs as
    /// the postgres user, which must traverse every folder above it.
    /// </summary>
    public string SandboxPath => Path.Combine(Path.GetTempPath(), "backupdr-sandboxes", Path.GetFileName(Folder));

    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);

    public static async Task<BackupScenario> CreateAsync(
        PostgresFixture postgres, Func<string, Task<RepositorySetup>> repository, CancellationToken cancellationToken, int scale = 300)
    {
        var source = await postgres.CreateDatabaseAsync(cancellationToken);
        var folder = Directory.CreateTempSubdirectory("backupdr-scenario-").FullName;
        var scenario = new BackupScenario(postgres, folder, source);
        await DemoDatabase.GenerateAsync(source.ConnectionString, Path.Combine(folder, "filestore"), scale, DemoDatabase.DefaultSeed, cancellationToken);
        var setup = await repository(scenario.LocalRepositoryPath);
        foreach (var (key, value) in setup.Variables)
        {
            scenario.Variables[key] = value;
        }

        var passphraseFile = Path.Combine(folder, "passphrase");
        await File.WriteAllTextAsync(passphraseFile, Passphrase + "\n", cancellationToken);
        setup.Section["PassphraseFile"] = passphraseFile;
        scenario.WriteConfig(setup.Section, source.ConnectionString);
        return scenario;
    }

    /// <param name="drill">The target's Drill section (custom probes, recency window), or null for none.</param>
    public void WriteConfig(JsonObject repositorySection, string sourceConnectionString, JsonObject? drill = null)
    {
        var config = new JsonObject
        {
            ["BackupDr"] = new JsonObject
            {
                ["Repository"] = repositorySection.DeepClone(),
                ["Targets"] = new JsonArray(new JsonObject
                {
                    ["Name"] = Target, ["Tenant"] = "acme", ["Environment"] = "production", ["Tier"] = "gold",
                    ["ConnectionString"] = sourceConnectionString,
                    ["FilestorePath"] = SourceFilestore,
                    ["BackupSchedule"] = "0 0 1 * * ?",
                    ["Drill"] = drill?.DeepClone(),
                }),
                ["Sandbox"] = new JsonObject { ["Kind"] = "Local", ["WorkPath"] = SandboxPath },
            },
        };
        File.WriteAllText(ConfigPath, config.ToJsonString());
    }

    /// <summary>The scenario's target as the CLI reads it from the configuration file.</summary>
    public TargetOptions LoadTarget() =>
        BackupDrConfiguration.Load(CliConfiguration.Build(TestEnvironment.RepositoryRoot, ConfigPath, Variables)).Targets[0];

    /// <summary>The scenario's repository store, as the CLI opens it (dispose it if disposable).</summary>
    public IObjectStore OpenStore() =>
        ObjectStoreFactory.Create(BackupDrConfiguration.Load(CliConfiguration.Build(TestEnvironment.RepositoryRoot, ConfigPath, Variables)).Repository);

    /// <summary>Every key under <paramref name="prefix"/> (relative to the repository).</summary>
    public async Task<IReadOnlyList<string>> KeysAsync(string prefix, CancellationToken cancellationToken)
    {
        var store = OpenStore();
        try
        {
            var keys = new List<string>();
            await foreach (var entry in store.ListAsync(prefix, cancellationToken))
            {
                keys.Add(entry.Key.Value);
            }

            return keys;
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }

    public string SourceFilestore => Path.Combine(Folder, "filestore");

    public Task<CliResult> RunAsync(params string[] args) =>
        CliHarness.RunAsync(Variables, TimeProvider.System, [.. args, "--config", ConfigPath]);

    /// <summary>Runs a command that must succeed and returns its JSON document.</summary>
    public async Task<JsonObject> RunJsonAsync(params string[] args)
    {
        var result = await RunAsync([.. args, "--json"]);
        result.ExitCode.ShouldBe(0, result.ToString());
        return result.Json;
    }

    public async Task<string> BackupAsync() => (await RunJsonAsync("backup", "--target", Target))["backupId"]!.GetValue<string>();

    /// <summary>A connection string for a database that does not exist yet (dropped with the scenario).</summary>
    public string NewDatabase()
    {
        var name = "restored_" + Guid.NewGuid().ToString("N")[..12];
        _databases.Add(name);
        return _postgres.ConnectionString(name);
    }

    /// <summary>Row counts and content fingerprints (COPY text form, all columns) of every table of the public schema, by name.</summary>
    public static async Task<IReadOnlyDictionary<string, DumpedTable>> FingerprintAllTablesAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var tables = new List<string>();
        await using (var command = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var fingerprints = await DatabaseEvidence.FingerprintTablesAsync(
            connection, connectionString, tables.Select(t => new DumpedTable("public." + t, "", 0, "")).ToList(), cancellationToken);
        return fingerprints.ToDictionary(f => f.Table["public.".Length..], StringComparer.Ordinal);
    }

    public async Task<bool> DatabaseExistsAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_postgres.AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = @name)", connection);
        command.Parameters.AddWithValue("name", new NpgsqlConnectionStringBuilder(connectionString).Database!);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await _postgres.DropDatabaseAsync(database, CancellationToken.None);
        }

        Directory.Delete(Folder, recursive: true);
        if (Directory.Exists(SandboxPath))
        {
            Directory.Delete(SandboxPath, recursive: true);
        }
    }
}
