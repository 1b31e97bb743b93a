using System.CommandLine;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Cli;

/// <summary>Everything a command handler gets: its parsed arguments, validated options, output, logging and clock.</summary>
internal sealed class CommandInvocation(
    ParseResult parse,
    BackupDrOptions options,
    CliOutput output,
    ILoggerFactory loggerFactory,
    TimeProvider time) : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public ParseResult Parse { get; } = parse;

    public BackupDrOptions Options { get; } = options;

    public CliOutput Output { get; } = output;

    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    public TimeProvider Time { get; } = time;

    /// <summary>The configured target named by <c>--target</c>; a usage error when there is none by that name.</summary>
    public TargetOptions RequireTarget(Option<string> option)
    {
        var name = Parse.GetRequiredValue(option);
        return Options.FindTarget(name) ?? throw new UsageException(Options.Targets.Count == 0
            ? $"--target: no target named '{name}'; no targets are configured (add one under BackupDr:Targets)"
            : $"--target: no target named '{name}'; configured targets: {string.Join(", ", Options.Targets.Select(t => t.Name))}");
    }

    /// <summary>The configured repository's object store.</summary>
    public IObjectStore OpenStore()
    {
        var store = ObjectStoreFactory.Create(Options.Repository, ObjectStoreSettings.Default with
        {
            TimeProvider = Time,
            Logger = LoggerFactory.CreateLogger("BackupDr.Storage"),
        });
        if (store is IDisposable disposable)
        {
            _owned.Add(disposable);
        }

        return store;
    }

    /// <summary>Opens the repository with the configured passphrase.</summary>
    public Task<BackupRepository> OpenRepositoryAsync(CancellationToken cancellationToken) =>
        BackupRepository.OpenAsync(OpenStore(), PassphraseSource.Read(Options.Repository), cancellationToken);

    /// <summary>Releases the stores (HTTP clients) this invocation opened.</summary>
    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }
}
