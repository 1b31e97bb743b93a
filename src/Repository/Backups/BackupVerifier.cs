using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <param name="Problem">Null when the object read back whole and authentic.</param>
internal sealed record VerifiedObject(string Name, string Key, string? Problem);

/// <param name="Objects">The manifest, each object it lists, then each filestore pack the backup needs.</param>
/// <param name="Files">Filestore files that could not be read back whole (empty when every pack is whole).</param>
internal sealed record VerifyReport(IReadOnlyList<VerifiedObject> Objects, IReadOnlyList<Filestore.FileDamage> Files)
{
    public IReadOnlyList<VerifiedObject> Damaged => Objects.Where(o => o.Problem is not null).ToList();
}

/// <summary>
/// Reads every object of a backup in full, the way a restore would: the manifest's seal (its data key), each
/// segment's authentication, the compressed frame's checksum, and the stored size and SHA-256. Damage is reported per
/// object, and every object is checked even after one fails. Then every filestore pack the backup needs, in full,
/// with every file's SHA-1 (<see cref="Filestore.FilestoreVerifier"/>).
/// </summary>
internal static class BackupVerifier
{
    public static async Task<VerifyReport> VerifyAsync(
        BackupRepository repository, BackupManifest manifest, int parallelism, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var manifestKey = RepositoryLayout.Manifest(manifest.Target, BackupId.Parse(manifest.BackupId)).Value;
        Crypto.DataKey dataKey;
        try
        {
            dataKey = BackupCatalog.OpenDataKey(repository.MasterKey, manifest);
        }
        catch (CorruptObjectException e)
        {
            // Without the data key no object can be read: the manifest itself is the damage.
            return new VerifyReport([new VerifiedObject(RepositoryLayout.ManifestName, manifestKey, e.Reason)], []);
        }

        using (dataKey)
        {
            var results = new List<VerifiedObject> { new(RepositoryLayout.ManifestName, manifestKey, null) };
            var buffer = new byte[1 << 20];
            long total = 0;
            foreach (var entry in manifest.Objects)
            {
                string? problem = null;
                try
                {
                    await using var plain = await BackupObjects.OpenReadAsync(repository.Store, entry, dataKey, cancellationToken);
                    long plainBytes = 0;
                    int read;
                    while ((read = await plain.ReadAsync(buffer, cancellationToken)) > 0)
                    {
                        plainBytes += read;
                        total += read;
                        progress?.Report(total);
                    }

                    if (plainBytes != entry.PlainSizeBytes)
                    {
                        problem = $"it decoded to {plainBytes} bytes, the manifest says {entry.PlainSizeBytes}";
                    }
                }
                catch (CorruptObjectException e)
                {
                    problem = e.Reason;
                }
                catch (ObjectNotFoundException)
                {
                    problem = "missing from the repository";
                }

                results.Add(new VerifiedObject(entry.Name, entry.Key, problem));
            }

            var index = results.FirstOrDefault(r => r.Name == Filestore.FilestoreIndex.ObjectName);
            if (manifest.Filestore is null || index is null || index.Problem is not null)
            {
                // Without a readable index the packs cannot be checked; the index's own damage is already reported.
                return new VerifyReport(results, []);
            }

            // Packs are read in parallel: their byte counts are summed atomically.
            var verified = total;
            var filestore = await Filestore.FilestoreVerifier.VerifyAsync(repository, manifest, dataKey, parallelism,
                progress is null ? null : new Progress.SynchronousProgress<long>(b => progress.Report(Interlocked.Add(ref verified, b))), cancellationToken);
            return new VerifyReport([.. results, .. filestore.Packs], filestore.Files);
        }
    }

}
