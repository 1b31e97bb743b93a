using System.Text.Json.Nodes;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    private static Task<int> ConfigCheckAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var options = invocation.Options;
        var logger = invocation.LoggerFactory.CreateLogger<BackupDrCli>();
        LogConfigurationValid(logger, options.Targets.Count, options.Tiers.Count, options.Repository.Kind, options.Sandbox.Kind);

        var effective = ConfigurationDisplay.ToJson(options);
        var document = new JsonObject
        {
            ["valid"] = true,
            ["configuration"] = new JsonObject { [BackupDrOptions.SectionName] = effective },
        };
        var text = $"The configuration is valid: {options.Targets.Count} target(s), {options.Tiers.Count} tier(s), "
            + $"{options.Repository.Kind} repository, {options.Sandbox.Kind} sandbox.{Environment.NewLine}"
            + $"Effective configuration (secrets masked):{Environment.NewLine}"
            + CliOutput.Format(new JsonObject { [BackupDrOptions.SectionName] = effective.DeepClone() });
        return Task.FromResult(invocation.Output.Success(document, text));
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Configuration valid: {TargetCount} targets, {TierCount} tiers, {RepositoryKind} repository, {SandboxKind} sandbox")]
    private static partial void LogConfigurationValid(ILogger logger, int targetCount, int tierCount, RepositoryKind repositoryKind, SandboxKind sandboxKind);
}
