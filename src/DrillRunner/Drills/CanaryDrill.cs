using BackupDr.DrillRunner.Probes;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Drills;

namespace BackupDr.DrillRunner.Drills;

/// <summary>
/// The drill side of the monthly alert canary: one critical probe, <see cref="ProbeName"/>, that fails on purpose, run
/// by the drills' <see cref="ProbeRunner"/> and judged by <see cref="DrillVerdict"/>, giving the Failed drill record
/// that the alert rules turn into the very alert a real failed drill raises. The record is never stored: it belongs to
/// no target, and a drill history must hold only real drills.
/// </summary>
/// <remarks>
/// No backup is restored and no sandbox is made: restores, sandboxes and probes are proven by the real drills every
/// week, while the canary must prove that on-call hears of a failed drill even when sandboxes are what is broken.
/// </remarks>
internal static class CanaryDrill
{
    public const string ProbeName = "alert-canary";
    public const string Target = "alert-canary";
    public const string Tenant = "backupdr";
    public const string Environment = "canary";

    public static async Task<DrillRecord> RunAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var drillId = BackupId.New(time).Value;
        var probe = new ProbeStep(ProbeName, Critical: true, _ => Task.FromResult(ProbeResult.Fail(
            "failed on purpose: the monthly alert canary proves that a failed drill reaches on-call")));
        var run = await new ProbeRunner(time).RunAsync([probe], completed: null, cancellationToken);
        var rto = new ObjectiveRecord(null, 0, null, "not achieved: the canary's probe fails on purpose");
        var rpo = new ObjectiveRecord(null, 0, null, "no backup is restored by the canary");
        var (outcome, reasons) = DrillVerdict.Decide(error: null, run.Records, rto, rpo);
        return new DrillRecord
        {
            DrillId = drillId,
            Target = Target,
            Tenant = Tenant,
            Environment = Environment,
            Tier = "",
            BackupId = "",
            ManifestSha256 = "",
            RecoveryPoint = startedAt,
            Selection = "none",
            SelectionReason = "alert canary: nothing is restored",
            StartedAt = startedAt,
            CompletedAt = time.GetUtcNow(),
            Outcome = outcome,
            Reasons = reasons,
            Phases = [new DrillPhaseRecord(DrillPhase.Probes, PhaseStatus.Completed, run.Records.Sum(r => r.Seconds), "1 probe, failing on purpose")],
            Probes = run.Records,
            Rto = rto,
            Rpo = rpo,
            Sandbox = new SandboxRecord("none", "", ""),
            Tools = new DrillTools(DrillService.ProductVersion, ""),
            Host = System.Environment.MachineName,
        };
    }
}
