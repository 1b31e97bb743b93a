using System.Text.Json;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Wal;

/// <summary>
/// The archiver's newest state of one target (<c>targets/&lt;t&gt;/pitr/status.json</c>), rewritten after each flush.
/// The restore reads <see cref="CoveredUntil"/> as the end of the restorable range; the alert rules read lag and slot.
/// </summary>
/// <param name="CoveredUntil">Source time before which every committed transaction is in the archive (the source's
/// insert position at that instant was flushed by the receiver before the partial segment was read and uploaded).</param>
/// <param name="ArchivedLsn">WAL archived up to here (the insert position sampled at <paramref name="CoveredUntil"/>).</param>
/// <param name="SourceLsn">The source's insert position at the newest sample.</param>
/// <param name="SlotRetainedBytes">WAL the slot holds back on the source at the newest sample.</param>
/// <param name="WrittenAt">The archiver's clock when it wrote this document.</param>
internal sealed record PitrStatus(
    string Target,
    string Slot,
    uint Timeline,
    long WalSegmentSizeBytes,
    DateTimeOffset? CoveredUntil,
    string? ArchivedLsn,
    string SourceLsn,
    long SlotRetainedBytes,
    long LagBytes,
    DateTimeOffset WrittenAt,
    string Host)
{
    public const string SchemaName = "backupdr-pitr-status";

    public string Schema { get; init; } = SchemaName;

    /// <summary>The newest time the archiver had to create its slot again (null: never); kept by every later status.</summary>
    public PitrSlotRecreation? SlotRecreated { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public async Task WriteAsync(IObjectStore store, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(this, Json), writable: false);
        await store.PutAsync(BaseBackups.Status(Target), content, PutOptions.Default, cancellationToken);
    }

    /// <summary>The newest status, or null when no archiver has written one.</summary>
    public static async Task<PitrStatus?> ReadAsync(IObjectStore store, string target, CancellationToken cancellationToken)
    {
        var key = BaseBackups.Status(target);
        if (await store.StatAsync(key, cancellationToken) is null)
        {
            return null;
        }

        var bytes = await BackupCatalog.ReadSmallObjectAsync(store, key, 1 << 16, "a PITR status", cancellationToken);
        var status = JsonSerializer.Deserialize<PitrStatus>(bytes, Json);
        return status is { Schema: SchemaName } && status.Target == target
            ? status
            : throw new Integrity.CorruptObjectException(key.Value, "not the PITR status of this target");
    }
}

/// <summary>
/// The archiver found its slot missing on a source whose WAL the archive already held, and created it again: after a
/// failover (PostgreSQL 15 does not carry replication slots over to a promoted standby) or after the slot was dropped.
/// WAL the source wrote before <paramref name="SlotLsn"/> that was not archived yet is archived only if the source still
/// had it when streaming resumed; what it lacked shows up as a gap (<c>verify --wal</c>, the archive-hole alert).
/// </summary>
/// <param name="Timeline">The source's timeline when the slot was created.</param>
/// <param name="ArchivedTimeline">The newest timeline the archive held then.</param>
/// <param name="SlotLsn">Where the new slot reserves WAL from.</param>
/// <param name="ResumedFrom">Where streaming resumed: the spool's newest WAL file, or the new slot when the spool held none.</param>
internal sealed record PitrSlotRecreation(DateTimeOffset At, uint Timeline, uint ArchivedTimeline, string SlotLsn, string ResumedFrom, string Note);
