using System.Globalization;
using BackupDr.Repository.Wal;

namespace BackupDr.DrillRunner.Restore;

internal enum RecoveryTargetKind
{
    /// <summary>Replay to a moment: every transaction committed before it, none after.</summary>
    Time,

    /// <summary>Replay to a WAL location.</summary>
    Lsn,

    /// <summary>Replay everything the archive holds.</summary>
    Latest,
}

/// <summary>Where a point-in-time restore stops (<c>--to-time</c>, <c>--to-lsn</c>, <c>--latest</c>).</summary>
internal sealed record RecoveryTarget(RecoveryTargetKind Kind, DateTimeOffset? Time = null, Lsn? Lsn = null)
{
    public static RecoveryTarget Latest { get; } = new(RecoveryTargetKind.Latest);

    public static RecoveryTarget ToTime(DateTimeOffset time) => new(RecoveryTargetKind.Time, Time: time);

    public static RecoveryTarget ToLsn(Lsn lsn) => new(RecoveryTargetKind.Lsn, Lsn: lsn);

    /// <summary>PostgreSQL's recovery settings for this target (recovery stops before a transaction committed after it).</summary>
    public IEnumerable<(string Name, string Value)> Settings()
    {
        switch (Kind)
        {
            case RecoveryTargetKind.Time:
                yield return ("recovery_target_time", "'" + Time!.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00'");
                yield return ("recovery_target_inclusive", "false");
                yield return ("recovery_target_action", "'promote'");
                break;
            case RecoveryTargetKind.Lsn:
                yield return ("recovery_target_lsn", "'" + Lsn!.Value + "'");
                yield return ("recovery_target_inclusive", "true");
                yield return ("recovery_target_action", "'promote'");
                break;
            case RecoveryTargetKind.Latest:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "unknown recovery target");
        }
    }

    public override string ToString() => Kind switch
    {
        RecoveryTargetKind.Time => Time!.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture),
        RecoveryTargetKind.Lsn => "LSN " + Lsn,
        _ => "the end of the archive",
    };
}

/// <summary>
/// How the restored server runs <c>backupdr wal-fetch</c>: the command words before <c>wal-fetch</c> (the executable,
/// or <c>dotnet backupdr.dll</c>, and <c>--config FILE</c>) and the environment it needs (configuration variables; never
/// the passphrase: the fetcher gets only the target's WAL key, in a file only the server's user can read).
/// </summary>
internal sealed record WalFetchCommand(IReadOnlyList<string> Prefix, IReadOnlyDictionary<string, string?> Environment);
