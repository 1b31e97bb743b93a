using System.Globalization;
using BackupDr.BackupWorker.Cli;
using BackupDr.DrillRunner.Drills;
using BackupDr.DrillRunner.Restore;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Storage;
using BackupDr.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupDr.IntegrationTests.Drills;

/// <summary>Follows a drill in a test, and lets it act at chosen points (alter the sandbox copy, cancel).</summary>
internal sealed class TestDrillObserver : IDrillObserver
{
    public List<DrillPhase> Started { get; } = [];

    /// <summary>"start Phase" and "end Phase", in the order they were reported (phases overlap, from several threads).</summary>
    public List<string> Events { get; } = [];

    public Action<DrillPhase>? OnPhaseStarted { get; init; }

    public Func<ISandbox, string, CancellationToken, Task>? OnDataRestored { get; init; }

    public Func<ISandbox, string, CancellationToken, Task>? OnSandboxReady { get; init; }

    public void PhaseStarted(DrillPhase phase)
    {
        lock (Events)
        {
            Events.Add($"start {phase}");
        }

        Started.Add(phase);
        OnPhaseStarted?.Invoke(phase);
    }

    public void PhaseEnded(DrillPhaseRecord phase)
    {
        lock (Events)
        {
            Events.Add($"end {phase.Phase}");
        }
    }

    public void ProbeEnded(ProbeRecord probe)
    {
    }

    public Task DataRestoredAsync(ISandbox sandbox, string database, CancellationToken cancellationToken) =>
        OnDataRestored?.Invoke(sandbox, database, cancellationToken) ?? Task.CompletedTask;

    public Task SandboxReadyAsync(ISandbox sandbox, string database, CancellationToken cancellationToken) =>
        OnSandboxReady?.Invoke(sandbox, database, cancellationToken) ?? Task.CompletedTask;
}

/// <summary>Runs a drill in-process with the scenario's configuration (the CLI path is covered by the CLI tests).</summary>
internal static class DrillHarness
{
    public static Task<DrillRecord> RunAsync(BackupScenario scenario, IDrillObserver? observer, CancellationToken cancellationToken, string backup = "latest")
    {
        var options = BackupDrConfiguration.Load(CliConfiguration.Build(TestEnvironment.RepositoryRoot, scenario.ConfigPath, scenario.Variables));
        return RunAsync(scenario, new LocalSandboxProvider(options.Sandbox.WorkPath, TimeProvider.System, NullLogger<LocalSandboxProvider>.Instance), observer, cancellationToken, backup);
    }

    /// <summary>The same drill with another sandbox kind.</summary>
    public static async Task<DrillRecord> RunAsync(
        BackupScenario scenario, ISandboxProvider sandboxes, IDrillObserver? observer, CancellationToken cancellationToken, string backup = "latest")
    {
        var options = BackupDrConfiguration.Load(CliConfiguration.Build(TestEnvironment.RepositoryRoot, scenario.ConfigPath, scenario.Variables));
        var store = ObjectStoreFactory.Create(options.Repository, ObjectStoreSettings.Default);
        using var repository = await BackupRepository.OpenAsync(store, BackupScenario.Passphrase, cancellationToken);
        using var http = new HttpClient();
        var time = TimeProvider.System;
        var service = new DrillService(
            sandboxes,
            new RestorePipeline(
                new DatabaseRestorer(time, NullLogger<DatabaseRestorer>.Instance),
                new FilestoreRestoreStep(new FilestoreRestorer(time, NullLogger<FilestoreRestorer>.Instance), new FilestoreRestoreOptions(Parallelism: 2)),
                time),
            http,
            time,
            NullLogger<DrillService>.Instance);
        var target = options.Targets[0];
        return await service.RunAsync(repository, new DrillRequest(target, target.Tier, options.Tiers[target.Tier], backup), observer, cancellationToken);
    }

    /// <summary>Command lines of live processes that mention <paramref name="path"/> (a sandbox server would).</summary>
    public static IReadOnlyList<string> ProcessesMentioning(string path)
    {
        var found = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(folder, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(path, StringComparison.Ordinal))
                {
                    found.Add(commandLine);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked: it is not running.
            }
        }

        return found;
    }

    /// <summary>What is left in the sandbox work path (nothing, after any drill).</summary>
    public static IReadOnlyList<string> Leftovers(BackupScenario scenario) =>
        Directory.Exists(scenario.SandboxPath) ? Directory.EnumerateFileSystemEntries(scenario.SandboxPath).ToList() : [];
}
