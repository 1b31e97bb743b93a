using System.Globalization;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Audit;

/// <summary>A break in the audit trail: where, and what is wrong.</summary>
internal sealed record AuditProblem(string Key, string Message);

/// <param name="Count">How many records were found.</param>
/// <param name="Records">The records that are authentic, in order.</param>
internal sealed record AuditVerification(long Count, IReadOnlyList<AuditRecord> Records, IReadOnlyList<AuditProblem> Problems)
{
    public bool IsIntact => Problems.Count == 0;

    /// <summary>The newest authentic record, or null.</summary>
    public AuditRecord? Last => Records.Count > 0 ? Records[^1] : null;
}

/// <summary>
/// The repository's append-only, hash-chained audit trail (<c>audit/&lt;sequence:D12&gt;.json</c>, see
/// <see cref="AuditRecord"/>). Records are numbered 1, 2, 3... without gaps; an append writes record n + 1 create-only,
/// so of two writers racing for the same number one wins and the other re-reads the tail and appends after it
/// (atomic on a local folder, Amazon S3 and Azure; best effort on S3-compatible servers that ignore If-None-Match,
/// see <see cref="StoreCapabilities.ConditionalCreate"/>). Nothing ever rewrites or deletes a record.
/// </summary>
/// <remarks>
/// The tail is found without listing: existence of record 1, 2, 4, 8... is probed until one is missing, then the gap
/// is bisected, so an append costs O(log n) small requests however long the trail grows.
/// </remarks>
internal sealed class AuditTrail(IObjectStore store, MasterKey masterKey, TimeProvider time) : IDisposable
{
    public const string Prefix = "audit/";
    private const string KeyPurpose = "backupdr/audit-mac/v1";
    private const int MaxRecordBytes = 1 << 20;
    private const int MaxAppendAttempts = 16;

    private readonly KeyMaterial _key = masterKey.DeriveKey(KeyPurpose);

    public static ObjectKey KeyOf(long sequence) => ObjectKey.Parse($"{Prefix}{sequence.ToString("D12", CultureInfo.InvariantCulture)}.json");

    /// <summary>Appends <paramref name="entry"/> after the newest record and returns the record written.</summary>
    /// <exception cref="CorruptObjectException">The newest record is damaged or forged: the trail is broken and is not extended.</exception>
    public async Task<AuditRecord> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        for (var attempt = 1; ; attempt++)
        {
            var tail = await FindTailAsync(cancellationToken);
            var previous = tail == 0 ? "" : (await ReadAsync(tail, cancellationToken)).Mac;
            var record = new AuditRecord
            {
                Sequence = tail + 1,
                At = time.GetUtcNow(),
                Kind = entry.Kind,
                Target = entry.Target,
                Subject = entry.Subject,
                Details = new SortedDictionary<string, string>(entry.Details.ToDictionary(), StringComparer.Ordinal),
                Actor = $"{Environment.MachineName}/{Environment.ProcessId}",
                Previous = previous,
            };
            record = record with { Mac = AuditRecordSerializer.ComputeMac(_key, record) };
            try
            {
                using var body = new MemoryStream(AuditRecordSerializer.Serialize(record), writable: false);
                await store.PutAsync(KeyOf(record.Sequence), body, PutOptions.CreateOnly, cancellationToken);
                return record;
            }
            catch (ObjectAlreadyExistsException) when (attempt < MaxAppendAttempts)
            {
                // Another writer took this number first: read the new tail and append after it.
            }
        }
    }

    /// <summary>
    /// Reads the whole trail in order and checks every link: numbering without gaps, each record's MAC, each record's
    /// <see cref="AuditRecord.Previous"/> against the MAC before it. Damage is reported, not thrown.
    /// </summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        var problems = new List<AuditProblem>();
        var expected = 1L;
        var previousMac = "";
        var records = new List<AuditRecord>();
        var count = 0L;
        await foreach (var info in store.ListAsync(Prefix, cancellationToken))
        {
            if (!TryParseSequence(info.Key, out var sequence))
            {
                problems.Add(new AuditProblem(info.Key.Value, "not an audit record name (audit/<12 digits>.json); something else wrote into audit/"));
                continue;
            }

            if (sequence != expected)
            {
                problems.Add(new AuditProblem(info.Key.Value, sequence > expected
                    ? $"records {expected} to {sequence - 1} are missing: the trail was cut"
                    : $"record {sequence} appears out of order"));
                expected = sequence;
                previousMac = "";
            }

            count++;
            expected++;
            AuditRecord record;
            try
            {
                record = await ReadAsync(sequence, cancellationToken);
            }
            catch (CorruptObjectException e)
            {
                problems.Add(new AuditProblem(info.Key.Value, e.Reason));
                previousMac = "";
                continue;
            }

            if (sequence == 1 ? record.Previous.Length > 0 : previousMac.Length > 0 && record.Previous != previousMac)
            {
                problems.Add(new AuditProblem(info.Key.Value, $"does not link to record {sequence - 1}: a record before it was replaced"));
            }

            previousMac = record.Mac;
            records.Add(record);
        }

        return new AuditVerification(count, records, problems);
    }

    /// <summary>Reads and authenticates record <paramref name="sequence"/>.</summary>
    /// <exception cref="CorruptObjectException">Unreadable, altered, forged or misplaced.</exception>
    public async Task<AuditRecord> ReadAsync(long sequence, CancellationToken cancellationToken)
    {
        var key = KeyOf(sequence);
        byte[] bytes;
        await using (var stream = await store.OpenReadAsync(key, cancellationToken))
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken);
            if (buffer.Length > MaxRecordBytes)
            {
                throw new CorruptObjectException(key.Value, $"is {buffer.Length} bytes, more than an audit record can be");
            }

            bytes = buffer.ToArray();
        }

        AuditRecord record;
        try
        {
            record = AuditRecordSerializer.Deserialize(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new CorruptObjectException(key.Value, e.Message, e);
        }

        if (!AuditRecordSerializer.HasValidMac(_key, record))
        {
            throw new CorruptObjectException(key.Value, "its MAC does not match: the record was altered, or written without this repository's key");
        }

        if (record.Sequence != sequence)
        {
            throw new CorruptObjectException(key.Value, $"holds record {record.Sequence}: it was copied or moved here");
        }

        return record;
    }

    /// <summary>The number of the newest record, 0 for an empty trail.</summary>
    public async Task<long> FindTailAsync(CancellationToken cancellationToken)
    {
        long present = 0;
        long probe = 1;
        while (await ExistsAsync(probe, cancellationToken))
        {
            present = probe;
            probe = checked(probe * 2);
        }

        // Record `present` exists (or present == 0) and record `probe` does not: bisect between them.
        while (probe - present > 1)
        {
            var middle = present + ((probe - present) / 2);
            if (await ExistsAsync(middle, cancellationToken))
            {
                present = middle;
            }
            else
            {
                probe = middle;
            }
        }

        return present;
    }

    public void Dispose() => _key.Dispose();

    private async Task<bool> ExistsAsync(long sequence, CancellationToken cancellationToken) =>
        await store.StatAsync(KeyOf(sequence), cancellationToken) is not null;

    private static bool TryParseSequence(ObjectKey key, out long sequence)
    {
        sequence = 0;
        var name = key.Value[Prefix.Length..];
        return name.Length == 17 && name.EndsWith(".json", StringComparison.Ordinal) && !name.Contains('/', StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(0, 12), NumberStyles.None, CultureInfo.InvariantCulture, out sequence) && sequence > 0;
    }
}
