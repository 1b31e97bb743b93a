using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using BackupDr.BackupWorker.Backups;
using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Compression;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Filestore;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.BackupWorker.Tests.Backups;

/// <summary>
/// A repository in memory (behind a store that records every operation and can inject faults), a source filestore
/// folder, and backups that run the real filestore phase and commit a sealed manifest as the backup service does
/// (without a database: the store_fname list is given).
/// </summary>
internal sealed class FilestoreHarness : IAsyncDisposable
{
    public const string Target = "acme-prod";
    private const string Passphrase = "correct horse battery staple 42";

    private FilestoreHarness(FakeTimeProvider time, InMemoryObjectStore inner, FaultyObjectStore store, BackupRepository repository, string root)
    {
        Time = time;
        Inner = inner;
        Store = store;
        Repository = repository;
        Root = root;
    }

    public FakeTimeProvider Time { get; }

    public InMemoryObjectStore Inner { get; }

    /// <summary>The store the code under test uses; <see cref="Operations"/> records what it did.</summary>
    public FaultyObjectStore Store { get; }

    public BackupRepository Repository { get; }

    /// <summary>The source filestore folder.</summary>
    public string Root { get; }

    public ConcurrentQueue<(string Operation, string? Key)> Operations { get; } = new();

    /// <summary>Called for each operation after it is recorded; an exception it returns is thrown.</summary>
    public Func<string, ObjectKey?, Exception?>? Fault { get; set; }

    public FilestoreOptions Options { get; set; } = new() { PackTargetSizeBytes = 1 << 20, ReadParallelism = 3, UploadParallelism = 2 };

    public static async Task<FilestoreHarness> CreateAsync(CancellationToken cancellationToken)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
        var inner = new InMemoryObjectStore(time);
        var store = new FaultyObjectStore(inner);
        await BackupRepository.InitializeAsync(store, Passphrase, time, cancellationToken);
        var repository = await BackupRepository.OpenAsync(store, Passphrase, cancellationToken);
        var root = Directory.CreateTempSubdirectory("backupdr-filestore-").FullName;
        var harness = new FilestoreHarness(time, inner, store, repository, root);
        store.Inject = (operation, key) =>
        {
            harness.Operations.Enqueue((operation, key?.Value));
            return harness.Fault?.Invoke(operation, key);
        };
        return harness;
    }

    /// <summary>Writes <paramref name="content"/> into the source filestore under its SHA-1 name and returns the name.</summary>
    public string AddFile(byte[] content)
    {
        var sha1 = Convert.ToHexStringLower(SHA1Of(content));
        var name = $"{sha1[..2]}/{sha1}";
        Directory.CreateDirectory(Path.Combine(Root, sha1[..2]));
        File.WriteAllBytes(Path.Combine(Root, name), content);
        return name;
    }

    public static byte[] RandomContent(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static byte[] TextContent(int length, int seed)
    {
        var text = new StringBuilder();
        while (text.Length < length)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"Invoice {seed} line {text.Length}: 3 x widget at 12.50 EUR, VAT 21 %\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString()[..length]);
    }

    /// <summary>Runs the filestore phase of a backup of <paramref name="storeFnames"/> and commits it.</summary>
    public async Task<(BackupManifest Manifest, FilestoreBackupResult Result)> BackupAsync(
        IReadOnlyList<string> storeFnames, CancellationToken cancellationToken, bool includeUnreferenced = false)
    {
        var backupId = BackupId.New(Time);
        var target = new TargetOptions
        {
            Name = Target, Tenant = "acme", Environment = "production", Tier = "gold", FilestorePath = Root, IncludeUnreferencedFiles = includeUnreferenced,
        };
        await using var held = await RepositoryLock.AcquireAsync(Store, Target, LockKind.Backup, backupId.Value, Time, cancellationToken);
        var service = new FilestoreBackupService(Options, Time, NullLogger<FilestoreBackupService>.Instance);
        var result = await service.BackupAsync(Repository, target, backupId.Value, storeFnames, null, cancellationToken);
        using var dataKey = DataKey.Create();
        var indexJson = FilestoreJson.Serialize(result.Index);
        var index = await BackupObjects.WriteAsync(Store, Target, backupId, FilestoreIndex.ObjectName, Codec.Zstd, dataKey, CompressionSettings.Default,
            (sink, token) => sink.WriteAsync(indexJson, token).AsTask(), cancellationToken);
        var summary = FilestoreBackupService.Summarize(result, includeUnreferenced);
        var manifest = new BackupManifest
        {
            BackupId = backupId.Value,
            Target = Target,
            Tenant = "acme",
            Environment = "production",
            Tier = "gold",
            StartedAt = Time.GetUtcNow(),
            CompletedAt = Time.GetUtcNow(),
            RecoveryPoint = Time.GetUtcNow(),
            Source = new ManifestSource("localhost", 5432, "acme", "15.0", 150000, null, "17.0"),
            Tools = new ManifestTools("test", "none"),
            Encryption = new ManifestEncryption("AES-256-GCM-SEGMENTED-1", Repository.MasterKey.KeyId, ""),
            Objects = [index],
            Warnings = [.. FilestoreBackupService.Warnings(summary)],
            Filestore = summary,
        };
        manifest = manifest with
        {
            Encryption = manifest.Encryption with
            {
                WrappedDataKey = RepositoryKeys.WrapDataKey(Repository.MasterKey, dataKey, BackupManifestSerializer.SealContext(manifest)),
            },
        };
        using var bytes = new MemoryStream(BackupManifestSerializer.Serialize(manifest));
        await Store.PutAsync(RepositoryLayout.Manifest(Target, backupId), bytes, PutOptions.CreateOnly, cancellationToken);
        Time.Advance(TimeSpan.FromSeconds(1));
        return (manifest, result);
    }

    public Task<FilestoreRestoreResult> RestoreAsync(BackupManifest manifest, string directory, CancellationToken cancellationToken) =>
        new FilestoreRestorer(Time, NullLogger<FilestoreRestorer>.Instance)
            .RestoreAsync(Repository, manifest, directory, new FilestoreRestoreOptions(2), null, cancellationToken);

    /// <summary>Keys of the objects under the target's blobs folder.</summary>
    public IReadOnlyList<string> BlobObjects() => [.. Inner.Keys.Where(k => k.StartsWith(FilestoreLayout.BlobsPrefix(Target), StringComparison.Ordinal))];

    public async ValueTask DisposeAsync()
    {
        Repository.Dispose();
        Directory.Delete(Root, recursive: true);
        await Task.CompletedTask;
    }

#pragma warning disable CA5350 // Odoo names files by SHA-1; the test builds such names.
    private static byte[] SHA1Of(byte[] content) => SHA1.HashData(content);
#pragma warning restore CA5350
}
