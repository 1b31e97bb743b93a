using System.Globalization;
using System.Security.Cryptography;
using BackupDr.Repository.Filestore;
using Npgsql;

namespace BackupDr.DrillRunner.Probes;

/// <summary>
/// Every <c>ir_attachment</c> row with a <c>store_fname</c> has its file in the restored filestore, with the SHA-1 of
/// its content equal to the row's <c>checksum</c> and its length equal to <c>file_size</c>. Each distinct file is read
/// once (Odoo deduplicates files by content). It needs only a folder, so it also checks a filestore restored by hand.
/// A folder the drill's own restore wrote is not read a second time: the restorer hashed every file as it wrote it and
/// put it under its name only when the content's SHA-1 was that name (<see cref="ProbeContext.FilestoreContentNamed"/>),
/// so there the SHA-1 is the name's and the size the file's length (a second pass cost 2.5 s of CPU for 1.1 GiB,
/// taken from pg_restore while it still built indexes).
/// </summary>
internal sealed class AttachmentsProbe : IProbe
{
    private const int MaxReported = 10;

    public string Name => "attachments";

    public bool Critical => true;

    public async Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken)
    {
        if (context.FilestorePath is null)
        {
            return ProbeResult.Skip($"not checked: {context.FilestoreSkipReason ?? "no filestore was restored"}");
        }

        return await CheckAsync(context.ConnectionString, context.FilestorePath, context.FilestoreContentNamed, cancellationToken);
    }

    /// <summary>Checks the attachments of the database against the filestore folder.</summary>
    /// <param name="contentNamed">Every file in the folder is known to be named by the SHA-1 of its content.</param>
    public static async Task<ProbeResult> CheckAsync(string connectionString, string filestorePath, bool contentNamed, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(filestorePath);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('public.ir_attachment') IS NOT NULL", connection))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                return ProbeResult.Skip("no ir_attachment table in this database");
            }
        }

        var problems = new List<string>();
        var problemCount = 0;
        void Problem(string message)
        {
            problemCount++;
            if (problems.Count < MaxReported)
            {
                problems.Add(message);
            }
        }

        long rows = 0, files = 0, bytes = 0;
        var seen = new Dictionary<string, (string? Sha1, long Size)>(StringComparer.Ordinal);
        const string Sql = "SELECT id, store_fname, checksum, file_size FROM public.ir_attachment WHERE store_fname IS NOT NULL AND store_fname <> '' ORDER BY store_fname, id";
        await using var command = new NpgsqlCommand(Sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows++;
            var id = reader.GetInt32(0);
            var name = reader.GetString(1);
            var checksum = reader.IsDBNull(2) ? null : reader.GetString(2);
            long? size = reader.IsDBNull(3) ? null : Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture);
            if (!seen.TryGetValue(name, out var file))
            {
                file = await ReadFileAsync(root, name, contentNamed, cancellationToken);
                seen[name] = file;
                if (file.Sha1 is not null)
                {
                    files++;
                    bytes += file.Size;
                }
            }

            if (file.Sha1 is null)
            {
                Problem($"attachment {id}: file {name} is missing");
            }
            else if (checksum is not null && !string.Equals(checksum, file.Sha1, StringComparison.OrdinalIgnoreCase))
            {
                Problem($"attachment {id}: file {name} has SHA-1 {file.Sha1}, the row says {checksum}");
            }
            else if (size is not null && size != file.Size)
            {
                Problem(string.Create(CultureInfo.InvariantCulture, $"attachment {id}: file {name} has {file.Size} bytes, the row says {size}"));
            }
            else if (checksum is null)
            {
                Problem($"attachment {id}: no checksum recorded for {name}, so its content cannot be proven");
            }
        }

        var summary = string.Create(CultureInfo.InvariantCulture, $"{rows:N0} attachments, {files:N0} distinct files, {bytes:N0} bytes");
        return problemCount == 0
            ? ProbeResult.Pass($"{summary}: every file present with matching SHA-1 and size")
            : ProbeResult.Fail(string.Create(CultureInfo.InvariantCulture, $"{problemCount:N0} of {rows:N0} attachments fail ({summary}): ")
                + string.Join("; ", problems) + (problemCount > problems.Count ? "; ..." : ""));
    }

    /// <summary>SHA-1 and size of a filestore file, or (null, 0) when it is missing or its name leaves the folder.</summary>
    private static async Task<(string? Sha1, long Size)> ReadFileAsync(string root, string storeName, bool contentNamed, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(Path.Combine(root, storeName));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(path))
        {
            return (null, 0);
        }

        if (contentNamed && SourceFiles.IsContentAddressed(storeName))
        {
            return (storeName[3..], new FileInfo(path).Length);
        }

        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
#pragma warning disable CA5350 // Odoo names and checksums filestore files by SHA-1: we verify its value, we do not rely on it for security.
        var hash = await SHA1.HashDataAsync(stream, cancellationToken);
#pragma warning restore CA5350
        return (Convert.ToHexStringLower(hash), stream.Length);
    }
}
