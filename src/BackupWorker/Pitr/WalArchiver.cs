using System.Security.Cryptography;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Postgres;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Wal;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Pitr;

/// <summary>Another process holds the target's archiver lock: it streams this target, this one must not.</summary>
internal sealed class ArchiverBusyException(string message) : Exception(message);

/// <summary>
/// Streams one target's WAL into the repository until cancelled: <c>pg_receivewal</c> (a child process, ended with its
/// process group) writes segments through the physical slot into a private spool folder; every second each completed
/// segment and history file is uploaded (create-only) and then removed from the spool; every
/// <see cref="PitrOptions.FlushInterval"/> the segment being written is uploaded as a partial object, and the status
/// document records which source time the archive now covers. The slot holds WAL on the source while the worker is
/// down, so a restart resumes without a gap (as long as the spool folder survives: a segment the receiver flushed,
/// and the slot therefore released, but that was not yet uploaded lives only there).
/// </summary>
internal sealed partial class WalArchiver(TargetOptions target, string spoolRoot, TimeProvider time, ILogger<WalArchiver> logger)
{
    /// <summary>
    /// What the source's walsender answers when asked for WAL it has removed (pg_receivewal prints it and retries). The
    /// server's own words: a server whose lc_messages is not English answers in its language, and this is not recognized.
    /// </summary>
    private const string WalRemovedMessage = "has already been removed";
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private readonly Dictionary<string, ArchivedWal> _complete = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ArchivedWal>> _partials = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _partialHashes = new(StringComparer.Ordinal);
    private DateTimeOffset? _coveredUntil;
    private Lsn? _archivedLsn;
    private PitrSlotRecreation? _slotRecreated;

    public string SpoolDirectory => Path.Combine(spoolRoot, target.Name);

    /// <summary>Runs until <paramref name="cancellationToken"/> fires (then returns by throwing <see cref="OperationCanceledException"/>) or something fails.</summary>
    /// <exception cref="ArchiverBusyException">Another replica archives this target.</exception>
    public async Task RunAsync(IObjectStore store, MasterKey masterKey, CancellationToken cancellationToken)
    {
        var slot = target.Pitr.EffectiveSlotName(target.Name);
        Directory.CreateDirectory(SpoolDirectory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(SpoolDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        await using var source = await PitrSource.OpenAsync(target.ConnectionString, cancellationToken);
        if (!await source.TryLockArchiverAsync(slot, cancellationToken))
        {
            throw new ArchiverBusyException($"another backupdr process archives the WAL of '{target.Name}' (it holds the archiver lock of slot {slot})");
        }

        using var walKey = WalKeys.Derive(masterKey, target.Name);
        var archive = new WalArchive(store, target.Name, walKey);
        var listing = await archive.ListAsync(cancellationToken);
        foreach (var wal in listing.Objects)
        {
            Remember(wal);
        }

        // What the previous run archived stays archived: its coverage holds until this run's first flush moves it on.
        var previous = await PitrStatus.ReadAsync(store, target.Name, cancellationToken);
        _coveredUntil = previous?.CoveredUntil;
        _archivedLsn = previous?.ArchivedLsn is { } archivedLsn ? Lsn.Parse(archivedLsn) : null;
        _slotRecreated = previous?.SlotRecreated;
        if (await source.DropLostSlotAsync(slot, removedBefore: null, time, cancellationToken))
        {
            LogLostSlotDropped(logger, target.Name, slot);
        }

        if (await source.EnsureSlotAsync(slot, cancellationToken))
        {
            if (listing.Objects.Count == 0)
            {
                LogSlotCreated(logger, target.Name, slot);
            }
            else
            {
                _slotRecreated = await SlotRecreatedAsync(source, slot, listing, cancellationToken);
                LogSlotRecreated(logger, target.Name, _slotRecreated.Note);
            }
        }

        var receiverTool = PostgresInstallation.Locate(source.Major).FindTool("pg_receivewal");
        await using var receiver = RunningChildProcess.Start(new ChildProcessRequest(receiverTool,
            ["--directory", SpoolDirectory, "--slot", slot, "--synchronous", "--no-password", "--status-interval=1"])
        {
            Environment = new Dictionary<string, string?>(PostgresToolEnvironment.From(target.ConnectionString)) { ["PGAPPNAME"] = "backupdr-pg_receivewal" },
        });
        LogStarted(logger, target.Name, slot, receiver.ProcessId, SpoolDirectory);
        var exited = receiver.WaitForSuccessAsync(cancellationToken);
        var lastFlush = time.GetTimestamp() - (long)(target.Pitr.FlushInterval.TotalSeconds * time.TimestampFrequency);
        using var timer = new PeriodicTimer(Tick, time);
        while (true)
        {
            if (exited.IsCompleted)
            {
                await exited;
                throw new InvalidOperationException($"pg_receivewal of '{target.Name}' exited: {receiver.StandardErrorTail.Trim()}");
            }

            if (receiver.StandardErrorTail.Contains(WalRemovedMessage, StringComparison.Ordinal))
            {
                // pg_receivewal would retry this forever. The WAL is gone from the source (a promoted standby that
                // recycled it before the archiver reached it, a slot dropped long ago): archive what the spool holds,
                // clear it, and let the restarted archiver stream from the slot. The hole is reported, not bridged.
                // The receiver asked for the spool's newest partial segment (or the one after a completed segment), or
                // for the slot's position when the spool was empty: that segment and every one before it are gone.
                var size = (ulong)source.SegmentSizeBytes;
                var asked = NewestSpoolFile(source.SegmentSizeBytes) is { } spooled
                    ? new Lsn(spooled.Segment.Start(source.SegmentSizeBytes).Value + (spooled.Name.EndsWith(".partial", StringComparison.Ordinal) ? 0 : size))
                    : (await source.ReadPositionAsync(slot, cancellationToken)).RestartLsn;
                await UploadCompletedAsync(archive, source.SegmentSizeBytes, cancellationToken);
                await UploadSpoolPartialsAsync(archive, abandon: true, cancellationToken);

                // The physical slot takes whatever position the receiver reports, so after a failover it can be dragged
                // back to WAL this server never had under that name, which its wal_status does not always call 'lost'.
                // Such a slot is dropped now, while this run knows where the removed WAL ends: the restarted archiver
                // creates it again at the source's position.
                receiver.Kill();
                if (asked is { } lsn && await source.DropLostSlotAsync(slot, new Lsn((lsn.Value / size + 1) * size), time, cancellationToken))
                {
                    LogLostSlotDropped(logger, target.Name, slot);
                }

                throw new InvalidOperationException(
                    $"the source of '{target.Name}' no longer has the WAL after the spool's position ({receiver.StandardErrorTail.Trim().Split('\n')[^1]}): "
                    + "the spool's WAL was archived as it was and cleared, and the archiver restarts from the slot's position; the WAL in between is lost "
                    + $"(a gap, named by 'backupdr verify --target {target.Name} --wal' and the PitrArchiveHole alert; take a base backup)");
            }

            await UploadCompletedAsync(archive, source.SegmentSizeBytes, cancellationToken);
            if (time.GetElapsedTime(lastFlush) >= target.Pitr.FlushInterval)
            {
                lastFlush = time.GetTimestamp();
                await FlushAsync(archive, source, slot, cancellationToken);
            }

            await timer.WaitForNextTickAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Describes a slot created on a source whose WAL was archived before: a promoted standby (a failover) or a dropped
    /// slot. <c>pg_receivewal</c> resumes from the spool's newest file when there is one (on the old timeline: the new
    /// primary serves the old timeline up to its switch point, then the history file and the new timeline), else from
    /// the new slot's position.
    /// </summary>
    private async Task<PitrSlotRecreation> SlotRecreatedAsync(PitrSource source, string slot, WalListing listing, CancellationToken cancellationToken)
    {
        var position = await source.ReadPositionAsync(slot, cancellationToken);
        var archivedTimeline = listing.Objects.Max(o => o.Timeline);
        var slotLsn = (position.RestartLsn ?? position.Current).ToString();
        var spooled = NewestSpoolFile(source.SegmentSizeBytes);
        var resumedFrom = spooled?.Name ?? $"the new slot at {slotLsn}";
        var cause = position.Timeline > archivedTimeline
            ? $"the source was promoted (timeline {archivedTimeline} to {position.Timeline}), and replication slots do not survive a failover in PostgreSQL 15"
            : $"the slot was dropped, or the source was replaced by a server on the same timeline {position.Timeline} (replication slots do not survive a failover in PostgreSQL 15)";
        var resume = spooled?.Name is { } file
            ? $"streaming resumes from the spool's {file}: WAL after it that was not archived yet is archived as long as this server still has it"
            : $"the spool held no WAL, so streaming starts at the new slot's position {slotLsn}: WAL between the archive's end ({_archivedLsn?.ToString() ?? "unknown"}) and it is missing";
        var note = $"created the replication slot {slot} again on the source at {slotLsn}: {cause}; {resume} (a gap otherwise, named by 'backupdr verify --target {target.Name} --wal' and the PitrArchiveHole alert)";
        return new PitrSlotRecreation(time.GetUtcNow(), position.Timeline, archivedTimeline, slotLsn, resumedFrom, note);
    }

    /// <summary>Uploads closed segments and history files, then removes them from the spool (only after the store has them).</summary>
    private async Task UploadCompletedAsync(WalArchive archive, long segmentSize, CancellationToken cancellationToken)
    {
        foreach (var path in Directory.EnumerateFiles(SpoolDirectory).Order(StringComparer.Ordinal).ToList())
        {
            var name = Path.GetFileName(path);
            var kind = WalSegmentName.TryParse(name, segmentSize, out _) ? WalObjectKind.Segment
                : WalSegmentName.TryParseHistory(name, out _) ? WalObjectKind.History
                : (WalObjectKind?)null;
            if (kind is not { } fileKind)
            {
                continue;
            }

            if (!_complete.ContainsKey(name))
            {
                var content = await File.ReadAllBytesAsync(path, cancellationToken);
                if (fileKind == WalObjectKind.Segment && content.Length != segmentSize)
                {
                    throw new InvalidDataException($"{path} holds {content.Length} bytes, not a whole WAL segment of {segmentSize}");
                }

                Remember(await archive.PutAsync(name, fileKind, content, time.GetUtcNow(), cancellationToken));
                LogUploaded(logger, target.Name, name);
            }

            // The whole segment is durable: its partial copies are redundant now.
            if (_partials.Remove(name, out var stale))
            {
                foreach (var partial in stale)
                {
                    await archive.DeleteAsync(partial, cancellationToken);
                }
            }

            _partialHashes.Remove(name);
            File.Delete(path);
        }
    }

    private async Task FlushAsync(WalArchive archive, PitrSource source, string slot, CancellationToken cancellationToken)
    {
        // Everything committed before `sample.At` lies below `sample.Current`, the insert position: not the write
        // position, which an asynchronous commit can still be above (the heartbeat's own commit is one, since its
        // transaction wrote nothing else; so is every commit on a source with synchronous_commit = off). Once the
        // receiver has flushed that far (the slot's restart position follows its flushes), the spool holds all of it.
        var heartbeat = await source.HeartbeatAsync(cancellationToken);
        var sample = await source.ReadPositionAsync(slot, cancellationToken);
        var position = sample;
        var deadline = time.GetTimestamp();
        while (position.RestartLsn is { } flushed && flushed < sample.Current
            && time.GetElapsedTime(deadline) < target.Pitr.FlushInterval)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
            position = await source.ReadPositionAsync(slot, cancellationToken);
        }

        if (position.RestartLsn is null)
        {
            throw new InvalidOperationException($"the replication slot {slot} of '{target.Name}' disappeared from the source: WAL written since may be lost; see docs (PITR, archive hole)");
        }

        var reached = position.RestartLsn >= sample.Current;
        await UploadCompletedAsync(archive, source.SegmentSizeBytes, cancellationToken);
        await UploadSpoolPartialsAsync(archive, abandon: false, cancellationToken);
        if (reached)
        {
            // Every moment up to the heartbeat has a commit record after it in the archive (the heartbeat's own).
            _coveredUntil = heartbeat;
            _archivedLsn = sample.Current;
        }
        else
        {
            LogBehind(logger, target.Name, sample.Current.ToString(), position.RestartLsn.ToString()!);
        }

        var status = new PitrStatus(target.Name, slot, sample.Timeline, source.SegmentSizeBytes, _coveredUntil, _archivedLsn?.ToString(),
            position.Current.ToString(), position.RetainedBytes,
            _archivedLsn is { } archived && position.Current > archived ? (long)(position.Current.Value - archived.Value) : 0,
            time.GetUtcNow(), Environment.MachineName) { SlotRecreated = _slotRecreated };
        await status.WriteAsync(archive.Store, cancellationToken);
    }

    /// <summary>The spool's newest segment or partial (where pg_receivewal resumes), or null when the spool holds none.</summary>
    private (string Name, WalSegmentName Segment)? NewestSpoolFile(long segmentSizeBytes) =>
        Directory.EnumerateFiles(SpoolDirectory)
            .Select(path => Path.GetFileName(path))
            .Select(name => (Name: name, Ok: WalSegmentName.TryParse(name.EndsWith(".partial", StringComparison.Ordinal) ? name[..^8] : name, segmentSizeBytes, out var parsed), Segment: parsed))
            .Where(f => f.Ok)
            .Select(f => ((string Name, WalSegmentName Segment)?)(f.Name, f.Segment))
            .MaxBy(f => (f!.Value.Segment.Segment, f.Value.Segment.Timeline));

    /// <summary>
    /// Uploads the spool's partial segments: the newest as the segment being written, older ones (a timeline the source
    /// left: never completed) once more and finally, then removed from the spool. With <paramref name="abandon"/>, every
    /// one is final (the receiver cannot continue from the spool).
    /// </summary>
    private async Task UploadSpoolPartialsAsync(WalArchive archive, bool abandon, CancellationToken cancellationToken)
    {
        var partials = Directory.EnumerateFiles(SpoolDirectory, "*.partial").Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < partials.Count; i++)
        {
            var final = abandon || i < partials.Count - 1;
            byte[] content;
            try
            {
                await using var stream = new FileStream(partials[i], FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                content = new byte[stream.Length];
                await stream.ReadExactlyAsync(content, cancellationToken);
            }
            catch (FileNotFoundException)
            {
                // Completed and renamed meanwhile: the next pass uploads it whole.
                continue;
            }

            await UploadPartialAsync(archive, Path.GetFileNameWithoutExtension(partials[i]), content, cancellationToken);
            if (final)
            {
                File.Delete(partials[i]);
            }
        }
    }

    private async Task UploadPartialAsync(WalArchive archive, string name, byte[] content, CancellationToken cancellationToken)
    {
        var hash = SHA256.HashData(content);
        if (_partialHashes.TryGetValue(name, out var previous) && previous.AsSpan().SequenceEqual(hash))
        {
            return;
        }

        var stored = await archive.PutAsync(name, WalObjectKind.Partial, content, time.GetUtcNow(), cancellationToken);
        if (_partials.Remove(name, out var older))
        {
            foreach (var partial in older)
            {
                await archive.DeleteAsync(partial, cancellationToken);
            }
        }

        Remember(stored);
        _partialHashes[name] = hash;
    }

    private void Remember(ArchivedWal wal)
    {
        if (wal.Kind == WalObjectKind.Partial)
        {
            if (!_partials.TryGetValue(wal.FileName, out var list))
            {
                _partials[wal.FileName] = list = [];
            }

            list.Add(wal);
        }
        else
        {
            _complete.TryAdd(wal.FileName, wal);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PITR {Target}: created the physical replication slot {Slot} (it reserves WAL from now on)")]
    private static partial void LogSlotCreated(ILogger logger, string target, string slot);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PITR {Target}: dropped the replication slot {Slot}: it pointed at WAL the source no longer has (a receiver asked a promoted standby for recycled WAL); it is created again at the source's current position")]
    private static partial void LogLostSlotDropped(ILogger logger, string target, string slot);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PITR {Target}: {Note}")]
    private static partial void LogSlotRecreated(ILogger logger, string target, string note);

    [LoggerMessage(Level = LogLevel.Information, Message = "PITR {Target}: streaming WAL through slot {Slot} (pg_receivewal pid {Pid}, spool {Spool})")]
    private static partial void LogStarted(ILogger logger, string target, string slot, int pid, string spool);

    [LoggerMessage(Level = LogLevel.Debug, Message = "PITR {Target}: archived {WalFile}")]
    private static partial void LogUploaded(ILogger logger, string target, string walFile);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PITR {Target}: the receiver had flushed only to {Flushed} of {SourceLsn} within the flush interval; the archive's coverage did not advance")]
    private static partial void LogBehind(ILogger logger, string target, string sourceLsn, string flushed);
}
