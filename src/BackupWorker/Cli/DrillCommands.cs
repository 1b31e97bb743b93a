using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Drills;
using BackupDr.DrillRunner.Drills;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.Repository.Drills;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    /// <summary>
    /// <c>backupdr drill</c>: sweeps sandboxes left by crashed runs, runs one drill, prints the phases as they run
    /// (standard error) and a table of phases, probes and the verdict (standard output; <c>--json</c> prints the
    /// record). Exit 0 only when the drill Passed.
    /// </summary>
    private async Task<int> DrillAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = invocation.RequireTarget(_drillTarget);
        var options = invocation.Options;
        if (invocation.Parse.GetValue(_drillPitr))
        {
            return await PitrDrillAsync(invocation, cancellationToken);
        }

        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        await DrillComposition.SweepSandboxesAsync(options, invocation.Time, invocation.LoggerFactory, cancellationToken);
        using var http = new HttpClient();
        var service = DrillComposition.Create(options, http, invocation.Time, invocation.LoggerFactory);
        var request = new DrillRequest(target, target.Tier, options.Tiers[target.Tier], invocation.Parse.GetValue(_drillBackup)!);
        var record = await service.RunAsync(repository, request, new CliDrillObserver(_environment, target.Name), cancellationToken);

        var json = JsonNode.Parse(DrillRecords.Serialize(record))!.AsObject();
        var passed = record.Outcome == DrillOutcome.Passed;
        return invocation.Output.Report(passed ? ExitCodes.Success : ExitCodes.Failed, json, DrillTable(record),
            passed ? null : $"drill {record.DrillId} of {record.Target}: {record.Outcome}: {string.Join("; ", record.Reasons)}");
    }

    /// <summary>The closing table: phases, probes, RTO and RPO against the tier, the verdict.</summary>
    internal static string DrillTable(DrillRecord record)
    {
        static string Cut(string? text, int max) => text is null ? "" : text.Length <= max ? text : text[..(max - 3)] + "...";
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"drill {record.DrillId} of {record.Target} (tier {record.Tier}): backup {record.BackupId}, recovery point {record.RecoveryPoint.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z ({record.Selection})");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"PHASE",-18} {"STATUS",-10} {"SECONDS",9}  DETAIL");
        foreach (var phase in record.Phases)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{Words(phase.Phase),-18} {phase.Status.ToString().ToLowerInvariant(),-10} {phase.Seconds,9:F2}  {Cut(phase.Detail, 100)}");
        }

        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"PROBE",-18} {"CRITICAL",-8} {"STATUS",-8} {"SECONDS",9}  DETAILS");
        foreach (var probe in record.Probes)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{Cut(probe.Name, 18),-18} {(probe.Critical ? "yes" : "no"),-8} {probe.Status.ToString().ToLowerInvariant(),-8} {probe.Seconds,9:F2}  {Cut(probe.Details, 100)}");
        }

        text.AppendLine();
        text.AppendLine(Objective("RTO", record.Rto));
        text.AppendLine(Objective("RPO", record.Rpo));
        text.Append(CultureInfo.InvariantCulture, $"verdict: {record.Outcome}");
        foreach (var reason in record.Reasons)
        {
            text.AppendLine().Append(CultureInfo.InvariantCulture, $"  - {reason}");
        }

        return text.ToString();
    }

    private static string Objective(string name, ObjectiveRecord objective)
    {
        var achieved = objective.AchievedSeconds is { } seconds ? DrillVerdict.Format(seconds) : "not achieved";
        var met = objective.Met switch { true => "met", false => "MISSED", null => "not judged" };
        return $"{name} achieved {achieved}, tier target {DrillVerdict.Format(objective.TargetSeconds)}: {met}"
            + (objective.Note is null ? "" : $" ({objective.Note})");
    }

    internal static string Words(DrillPhase phase) => phase switch
    {
        DrillPhase.Download => "download+verify",
        DrillPhase.DatabaseRestore => "database restore",
        DrillPhase.FilestoreRestore => "filestore restore",
        DrillPhase.OdooStart => "odoo start",
        _ => phase.ToString().ToLowerInvariant(),
    };

    /// <summary>Phase and probe lines on standard error as the drill runs (plain lines: they read well in a terminal and in a log).</summary>
    private sealed class CliDrillObserver(CliEnvironment environment, string target) : IDrillObserver
    {
        public void PhaseStarted(DrillPhase phase) => environment.Error.WriteLine($"drill {target}: {Words(phase)} ...");

        public void PhaseEnded(DrillPhaseRecord phase) =>
            environment.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"drill {target}: {Words(phase.Phase)} {phase.Status.ToString().ToLowerInvariant()} in {phase.Seconds:F2} s{(phase.Detail is null ? "" : ": " + phase.Detail)}"));

        public void ProbeEnded(ProbeRecord probe) =>
            environment.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"drill {target}:   probe {probe.Name}{(probe.Critical ? " (critical)" : "")} {probe.Status.ToString().ToLowerInvariant()} in {probe.Seconds:F2} s"));

        public Task SandboxReadyAsync(ISandbox sandbox, string database, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
