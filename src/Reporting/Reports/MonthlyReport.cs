using BackupDr.Repository.Drills;

namespace BackupDr.Reporting.Reports;

/// <summary>Where an environment stands for the month, worst first.</summary>
internal enum EnvironmentVerdict
{
    /// <summary>No drill of the month restored it with every critical probe passing.</summary>
    NotProven,

    /// <summary>Proven restorable, but a recovery objective was missed (RTO, RPO or a gap between backups).</summary>
    TargetMissed,

    /// <summary>Proven restorable within its tier's objectives.</summary>
    Proven,
}

/// <summary>
/// The monthly recoverability report, built from the repository alone (manifests, drill records, incidents, alert
/// canaries, object sizes). Serialized as report.json; the HTML and PDF render the same figures.
/// </summary>
internal sealed record MonthlyReport
{
    public const string SchemaName = "backupdr-monthly-report";

    public string Schema { get; init; } = SchemaName;
    public int SchemaVersion { get; init; } = 1;

    /// <summary>yyyy-MM.</summary>
    public required string Month { get; init; }

    public required DateTimeOffset PeriodStart { get; init; }

    /// <summary>The end of the month, or the generation time for the month in progress.</summary>
    public required DateTimeOffset PeriodEnd { get; init; }

    public required DateTimeOffset GeneratedAt { get; init; }
    public required string Repository { get; init; }
    public required ReportSummary Summary { get; init; }
    public required AlertProof Alerts { get; init; }
    public required IReadOnlyList<TenantSection> Tenants { get; init; }
    public required IReadOnlyList<EvidenceItem> Evidence { get; init; }
    public required string Currency { get; init; }
}

/// <param name="Headline">One sentence an executive reads first.</param>
/// <param name="Lines">What needs attention, one plain sentence each.</param>
internal sealed record ReportSummary(
    int Environments, int Proven, int NotProven, int MissedRto, int MissedRpo, int BackupsScheduled, int BackupsTaken,
    int DrillsRun, int DrillsPassed, int Incidents, string Headline, IReadOnlyList<string> Lines);

/// <param name="LastProvenAt">The newest moment this month every notifier delivered a test or canary alert; null if none.</param>
internal sealed record AlertProof(DateTimeOffset? LastProvenAt, int Attempts, string Statement);

internal sealed record TenantSection(string Tenant, long StoredBytes, decimal? CostPerMonth, IReadOnlyList<EnvironmentSection> Environments);

/// <param name="WorstRtoSeconds">The longest achieved RTO among the month's drills (null: no drill achieved one).</param>
/// <param name="WorstRpoSeconds">The largest achieved RPO among the month's drills.</param>
/// <param name="WorstGapSeconds">The longest time between consecutive good recovery points in the period (including the
/// last one before the month and the period end): the data that could have been lost at the worst moment.</param>
internal sealed record EnvironmentSection(
    string Target,
    string Environment,
    string Tier,
    double RtoTargetSeconds,
    double RpoTargetSeconds,
    int BackupsScheduled,
    int BackupsTaken,
    int DrillsRun,
    int DrillsPassed,
    double? WorstRtoSeconds,
    double? WorstRpoSeconds,
    double? WorstGapSeconds,
    DateTimeOffset? WorstGapStart,
    EnvironmentVerdict Verdict,
    IReadOnlyList<string> Findings,
    IReadOnlyList<TrendPoint> Trend,
    IReadOnlyList<IncidentLine> Incidents,
    long StoredBytes);

/// <summary>One month of the 12-month trend: the worst achieved figures of that month's drills.</summary>
internal sealed record TrendPoint(string Month, double? RtoSeconds, double? RpoSeconds);

/// <param name="ResolvedAt">Null while still open at the end of the period.</param>
internal sealed record IncidentLine(string IncidentId, string Rule, DateTimeOffset OpenedAt, DateTimeOffset? ResolvedAt, double? HoursToResolve, string Summary);

/// <summary>One backup or drill the figures rest on, by id and the SHA-256 of its stored record.</summary>
internal sealed record EvidenceItem(string Kind, string Target, string Id, DateTimeOffset At, string Sha256, string Result);

/// <summary>A drill record with the SHA-256 of its stored bytes.</summary>
internal sealed record DrillEvidence(DrillRecord Record, string Sha256);
