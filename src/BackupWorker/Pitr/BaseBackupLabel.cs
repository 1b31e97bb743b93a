using System.Formats.Tar;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using BackupDr.Repository.Wal;

namespace BackupDr.BackupWorker.Pitr;

/// <summary>
/// Where a base backup's WAL starts and ends, read from the tar as it streams past: <c>backup_label</c> (start
/// location and timeline) and <c>backup_manifest</c> (its WAL range's end), which pg_basebackup puts into the tar
/// when it writes to standard output. With <c>--wal-method=none</c> it prints neither position.
/// </summary>
internal sealed partial record BaseBackupLabel(Lsn Start, Lsn End, uint Timeline)
{
    /// <summary>Reads the tar to its end (the pipe is always drained); fails when either file is missing.</summary>
    public static async Task<BaseBackupLabel> ReadAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        await Task.Yield();
        string? label = null;
        string? manifest = null;
        try
        {
            await using var stream = reader.AsStream(leaveOpen: true);
            await using var tar = new TarReader(stream, leaveOpen: true);
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
            {
                if (entry.Name is "backup_label" or "backup_manifest" && entry.DataStream is { } data)
                {
                    using var text = new StreamReader(data, Encoding.UTF8, leaveOpen: true);
                    var content = await text.ReadToEndAsync(cancellationToken);
                    if (entry.Name == "backup_label")
                    {
                        label = content;
                    }
                    else
                    {
                        manifest = content;
                    }
                }
            }

            // Padding after the end-of-archive blocks.
            await stream.CopyToAsync(Stream.Null, cancellationToken);
        }
        finally
        {
            await reader.CompleteAsync();
        }

        var start = label is null ? null : StartPattern().Match(label);
        var timeline = label is null ? null : TimelinePattern().Match(label);
        if (start is not { Success: true } || timeline is not { Success: true })
        {
            throw new InvalidDataException("the base backup's tar has no readable backup_label (START WAL LOCATION, START TIMELINE)");
        }

        return new BaseBackupLabel(Lsn.Parse(start.Groups["lsn"].Value), EndOf(manifest), uint.Parse(timeline.Groups["tli"].Value, CultureInfo.InvariantCulture));
    }

    private static Lsn EndOf(string? manifest)
    {
        if (manifest is null)
        {
            throw new InvalidDataException("the base backup's tar has no backup_manifest: its WAL end location is unknown");
        }

        using var document = JsonDocument.Parse(manifest);
        var ranges = document.RootElement.GetProperty("WAL-Ranges");
        return ranges.GetArrayLength() > 0
            ? Lsn.Parse(ranges[ranges.GetArrayLength() - 1].GetProperty("End-LSN").GetString()!)
            : throw new InvalidDataException("the base backup's backup_manifest has no WAL range");
    }

    [GeneratedRegex(@"START WAL LOCATION: (?<lsn>[0-9A-F]+/[0-9A-F]+)")]
    private static partial Regex StartPattern();

    [GeneratedRegex(@"START TIMELINE: (?<tli>\d+)")]
    private static partial Regex TimelinePattern();
}
