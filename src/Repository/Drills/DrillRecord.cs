using System.Text.Json.Serialization;

namespace BackupDr.Repository.Drills;

/// <summary>The verdict of a drill.</summary>
internal enum DrillOutcome
{
    /// <summary>Restored, every probe passed, achieved RTO and RPO within the tier's targets.</summary>
    Passed,

    /// <summary>Every critical probe passed, but a non-critical probe failed or a target was missed.</summary>
    PartiallyFailed,

    /// <summary>The restore failed or a critical probe failed: this backup could not be shown to bring the target back.</summary>
    Failed,
}

/// <summary>The phases of a drill, in the order they run.</summary>
internal enum DrillPhase
{
    Provision,
    Download,
    DatabaseRestore,
    FilestoreRestore,
    Neutralize,

    /// <summary>The sandbox's own Odoo server starting on the neutralized copy, for the HTTP and XML-RPC probes (Kubernetes sandboxes).</summary>
    OdooStart,
    Probes,
}

internal enum PhaseStatus
{
    Completed,
    Skipped,
    Failed,

    /// <summary>Cut short, unfinished, because a step running beside it failed.</summary>
    Stopped,
}

internal enum ProbeStatus
{
    Passed,
    Failed,

    /// <summary>Nothing to check (e.g. no filestore in the backup); never counted as a pass in the outcome's reasons.</summary>
    Skipped,
}

/// <param name="Detail">Why a phase was skipped or failed, or what it did (bytes, files).</param>
/// <param name="StartedAtSeconds">
/// When the phase started, in seconds from the drill's start (phases may overlap); null for a skipped phase and in
/// records written before it was kept, which leave it out, so that their seals still verify.
/// </param>
internal sealed record DrillPhaseRecord(
    DrillPhase Phase, PhaseStatus Status, double Seconds, string? Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? StartedAtSeconds = null);

/// <param name="Details">What was checked and found; never a secret.</param>
internal sealed record ProbeRecord(string Name, bool Critical, ProbeStatus Status, double Seconds, string Details);

/// <summary>An achieved recovery objective beside its target.</summary>
/// <param name="AchievedSeconds">Null when it was not achieved (RTO: a critical probe failed).</param>
/// <param name="Met">Null when the comparison does not apply (see <see cref="Note"/>).</param>
internal sealed record ObjectiveRecord(double? AchievedSeconds, double TargetSeconds, bool? Met, string? Note);

/// <param name="Kind">The sandbox kind (<c>local</c> or <c>kubernetes</c>).</param>
/// <param name="ServerVersion">The sandbox PostgreSQL server's version.</param>
/// <remarks>
/// Schema 2 added <see cref="Diagnostics"/> and <see cref="CleanupError"/>. Both are left out of the JSON when null, so a
/// schema-1 record re-serializes to the same bytes and its seal still holds.
/// </remarks>
internal sealed record SandboxRecord(string Kind, string Id, string ServerVersion)
{
    /// <summary>What the sandbox said when it failed: events and the last log lines of failing pods; null when it did not fail.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Diagnostics { get; init; }

    /// <summary>Why the sandbox could not be removed (the sandbox cleanup alert fires from it); null when it was.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CleanupError { get; init; }
}

internal sealed record DrillTools(string BackupDr, string PgRestore);

/// <summary>HMAC-SHA256 of the record's canonical JSON (with <see cref="Value"/> blank) under a key derived from the master key.</summary>
internal sealed record DrillSeal(string Algorithm, string MasterKeyId, string Value);

/// <summary>
/// What a drill did and found, stored as <c>targets/&lt;target&gt;/drills/&lt;drill-id&gt;.json</c> (create-only, written
/// after the sandbox work). It holds no secret and no business data beyond counts; it is sealed with a key derived
/// from the master key, so an edited record is reported as damaged, never believed.
/// </summary>
internal sealed record DrillRecord
{
    public const string SchemaName = "backupdr-drill-record";
    public const int CurrentSchemaVersion = 2;

    /// <summary>2: a point-in-time drill (<see cref="Pitr"/>); dump drills keep writing version 1, and version-1 records still read.</summary>
    public const int PitrSchemaVersion = 2;

    public string Schema { get; init; } = SchemaName;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string DrillId { get; init; }
    public required string Target { get; init; }
    public required string Tenant { get; init; }
    public required string Environment { get; init; }
    public required string Tier { get; init; }
    public required string BackupId { get; init; }

    /// <summary>SHA-256 of the manifest as stored: the exact backup the drill restored.</summary>
    public required string ManifestSha256 { get; init; }

    public required DateTimeOffset RecoveryPoint { get; init; }

    /// <summary>How the backup was chosen: <c>latest</c>, <c>sample</c> or <c>id</c>.</summary>
    public required string Selection { get; init; }

    public string? SelectionReason { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset CompletedAt { get; init; }
    public required DrillOutcome Outcome { get; init; }

    /// <summary>Why the outcome is not <see cref="DrillOutcome.Passed"/>; empty when it is.</summary>
    public required IReadOnlyList<string> Reasons { get; init; }

    /// <summary>The failure that stopped the drill, if one did.</summary>
    public string? Error { get; init; }

    public required IReadOnlyList<DrillPhaseRecord> Phases { get; init; }
    public required IReadOnlyList<ProbeRecord> Probes { get; init; }
    public required ObjectiveRecord Rto { get; init; }
    public required ObjectiveRecord Rpo { get; init; }
    public required SandboxRecord Sandbox { get; init; }
    public required DrillTools Tools { get; init; }
    public required string Host { get; init; }
    public DrillSeal? Seal { get; init; }

    /// <summary>What a point-in-time drill asked for and reached (schema 2); absent in dump drills.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public DrillPitrRecord? Pitr { get; init; }
}

/// <summary>
/// A point-in-time drill: the moment requested, what recovery replayed, and the restorable range at the time. Its
/// achieved RPO is <see cref="RequestedMoment"/> minus <see cref="LastReplayedTransaction"/> (on an idle database that
/// gap is idleness, not loss; the record's RPO note says so when no transaction was replayed at all).
/// </summary>
/// <param name="Choice">How the moment was chosen: <c>now-minus-flush-interval</c> or <c>random-in-range</c>.</param>
internal sealed record DrillPitrRecord(
    DateTimeOffset RequestedMoment, string Choice, DateTimeOffset? LastReplayedTransaction, string ReplayedLsn, uint Timeline,
    DateTimeOffset? RestorableFrom, DateTimeOffset? RestorableTo, ulong WalSegmentsChecked);
