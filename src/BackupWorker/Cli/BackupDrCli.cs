using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using BackupDr.BackupWorker.Logging;
using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Postgres;
using Serilog.Extensions.Logging;

namespace BackupDr.BackupWorker.Cli;

/// <summary>
/// The <c>backupdr</c> command line (the CLI contract of DESIGN.md). Every verb takes <c>--config FILE</c> and
/// <c>--json</c>; every verb loads and validates the whole configuration before it does anything.
/// Exit codes: 0 success, 1 the operation failed, 2 bad arguments or configuration.
/// </summary>
internal sealed partial class BackupDrCli
{
    private readonly CliEnvironment _environment;
    private readonly Option<bool> _json = new("--json")
    {
        Description = "Write one JSON document to standard output (logs stay on standard error; 'run' logs to standard output and ends with the document as one line)",
        Recursive = true,
    };

    private readonly Option<string?> _config = new("--config")
    {
        Description = "A configuration file (the shape of appsettings.json) layered over appsettings.json; environment variables override both",
        HelpName = "FILE",
        Recursive = true,
    };

    private readonly Option<string> _backupTarget = TargetOption(required: true);
    private readonly Option<string> _listTarget = TargetOption(required: false);
    private readonly Option<string> _verifyTarget = TargetOption(required: true);
    private readonly Option<string> _verifyBackup = BackupOption("ID|latest", allowSample: false);
    private readonly Option<string> _restoreTarget = TargetOption(required: true);
    private readonly Option<string> _restoreBackup = BackupOption("ID|latest", allowSample: false);
    private readonly Option<string?> _restoreInto = new("--into")
    {
        Description = "Connection string of the database to restore into (created when missing; never the backup's own source)",
        HelpName = "CONNSTRING",
    };

    private readonly Option<string?> _restoreFilestore = new("--filestore-into")
    {
        Description = "Folder to restore the filestore into, in Odoo's layout <sha1[0:2]>/<sha1> (empty or new, unless --force); every file's SHA-1 is checked",
        HelpName = "DIR",
    };

    private readonly Option<bool> _restoreNeutralize = new("--neutralize")
    {
        Description = "Neutralize the copy as Odoo does for copies (no mail, no cron but autovacuum, no live payment provider, marked URLs); a production restore is not neutralized without it",
    };

    private readonly Option<bool> _restoreForce = new("--force")
    {
        Description = "Drop and recreate the target database when it is not empty; replace files in a non-empty --filestore-into folder",
    };

    private readonly Option<int> _restoreJobs = new("--jobs")
    {
        Description = "Parallel pg_restore jobs (default: the number of cores)",
        HelpName = "N",
    };

    private readonly Option<bool> _restoreNoCheck = new("--no-check")
    {
        Description = "Skip comparing the restored database with the backup's row counts, fingerprints and ledger totals",
    };

    private readonly Option<string> _drillTarget = TargetOption(required: true);
    private readonly Option<string> _drillBackup = BackupOption("ID|latest|sample", allowSample: true);

    private readonly Option<bool> _ifMissing = new("--if-missing")
    {
        Description = "Succeed without change when the repository exists and the passphrase opens it (an init step run before every start)",
    };

    private readonly Option<string> _newPassphraseFile = new("--new-passphrase-file")
    {
        Description = "File holding the new passphrase (at least 12 characters)",
        HelpName = "FILE",
        Required = true,
    };

    public BackupDrCli(CliEnvironment environment)
    {
        _environment = environment;
        Root = BuildRoot();
    }

    /// <summary>The root is a plain command named <c>backupdr</c>: a RootCommand would take its name from the host process.</summary>
    public Command Root { get; }

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var parse = Root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // System.CommandLine exits 1 on parse errors; the contract says 2.
            var output = new CliOutput(parse.GetValue(_json), _environment.Output, _environment.Error);
            var message = string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')));
            return output.Fail(ExitCodes.Usage, $"{message} (see '{CommandPath(parse)} --help')");
        }

        return await parse.InvokeAsync(
            // Signals are handled by Program (one place for the whole process), not by System.CommandLine.
            new InvocationConfiguration { Output = _environment.Output, Error = _environment.Error, ProcessTerminationTimeout = null },
            cancellationToken);
    }

    private Command BuildRoot()
    {
        var root = new Command("backupdr", "BackupDr proves that every Odoo environment can be brought back: backups, restore drills, RTO/RPO evidence.")
        {
            new HelpOption(),
            new VersionOption(),
            _json,
            _config,
        };

        root.Subcommands.Add(Group("config", "Configuration", Verb("check", "Validate the configuration and print it with secrets masked", ConfigCheckAsync)));
        root.Subcommands.Add(Group("repo", "The backup repository",
            Verb("init", "Create the repository (format version, keys); refuses an existing one unless --if-missing", RepoInitAsync, _ifMissing),
            Verb("passwd", "Change the repository passphrase without rewriting backups", RepoPasswdAsync, _newPassphraseFile)));
        root.Subcommands.Add(Verb("backup", "Take one backup of a target now and print its backup id", BackupAsync, _backupTarget));
        root.Subcommands.Add(Verb("list", "List backups and drills, newest first", ListAsync, _listTarget));
        root.Subcommands.Add(Verb("verify", "Read every object of a backup and check checksums and decryption", VerifyAsync, _verifyTarget, _verifyBackup, _verifyWal));
        root.Subcommands.Add(Verb("restore", "Restore a backup: the incident runbook", RestoreAsync,
            _restoreTarget, _restoreBackup, _restoreInto, _restoreFilestore, _restoreNeutralize, _restoreForce, _restoreJobs, _restoreNoCheck,
            _restoreToTime, _restoreToLsn, _restoreLatest, _restoreDataDir));
        root.Subcommands.Add(PitrGroup());
        root.Subcommands.Add(WalFetchCommand());

        root.Subcommands.Add(Verb("drill", "Restore a backup into a sandbox, run the probes, record RTO and RPO",
            DrillAsync, _drillTarget, _drillBackup, _drillPitr));

        var month = new Option<string>("--month")
        {
            Description = "The month to report on",
            HelpName = "YYYY-MM",
            Required = true,
        };
        month.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<string>();
            if (!DateOnly.TryParseExact(value + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                r.AddError($"--month: '{value}' is not a month; write YYYY-MM, e.g. 2026-11");
            }
        });
        var reportOut = new Option<string?>("--out") { Description = "Also write the report files into this folder", HelpName = "DIR" };
        var send = new Option<bool>("--send") { Description = "Mail the report to Notifications:Email:Reports" };
        root.Subcommands.Add(Verb("report", "Build the monthly recoverability report (HTML, PDF, JSON)",
            ReportHandler(month, reportOut, send), month, reportOut, send));

        root.Subcommands.Add(Verb("prune", "Apply retention (a dry run unless --apply)", PruneAsync, _pruneTarget, _pruneApply));

        root.Subcommands.Add(Group("alert", "Alerts for on-call", Verb("test", "Send a test alert through every notifier", AlertTestAsync)));
        root.Subcommands.Add(Group("audit", "The audit trail", Verb("verify", "Check the hash chain of the audit trail", AuditVerifyAsync)));
        var run = Verb("run", "Run the worker service: schedules, health, metrics, heartbeat (until SIGTERM); logs to standard output", RunWorkerAsync);
        run.SetAction((parse, cancellationToken) => InvokeAsync(parse, RunWorkerAsync, cancellationToken, LogStream.StandardOutput));
        root.Subcommands.Add(run);
        return root;
    }

    private static Command Group(string name, string description, params Command[] verbs)
    {
        var group = new Command(name, description);
        foreach (var verb in verbs)
        {
            group.Subcommands.Add(verb);
        }

        return group;
    }

    private Command Verb(string name, string description, Func<CommandInvocation, CancellationToken, Task<int>> handler, params Option[] options)
    {
        var command = new Command(name, description);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, cancellationToken) => InvokeAsync(parse, handler, cancellationToken));
        return command;
    }

    private static Option<string> TargetOption(bool required) => new("--target")
    {
        Description = required ? "The target (BackupDr:Targets:N:Name)" : "Only this target (BackupDr:Targets:N:Name)",
        HelpName = "NAME",
        Required = required,
    };

    private static Option<string> BackupOption(string helpName, bool allowSample)
    {
        var option = new Option<string>("--backup")
        {
            Description = allowSample
                ? "Which backup: an id, 'latest', or 'sample' (an older retained backup, least recently drilled first)"
                : "Which backup: an id or 'latest'",
            HelpName = helpName,
            DefaultValueFactory = _ => "latest",
        };
        option.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<string>() ?? "";
            if (value == "sample" && !allowSample)
            {
                r.AddError("--backup: 'sample' is only for drills; give a backup id or 'latest'");
            }
            else if (!BackupReference().IsMatch(value))
            {
                r.AddError($"--backup: '{value}' is not a backup id or 'latest'");
            }
        });
        return option;
    }

    /// <param name="logs">Where the logs go; the service (<c>run</c>) logs to standard output, and its JSON result is then
    /// written as one line so that standard output stays one JSON object per line.</param>
    private async Task<int> InvokeAsync(
        ParseResult parse, Func<CommandInvocation, CancellationToken, Task<int>> handler, CancellationToken cancellationToken, LogStream logs = LogStream.StandardError)
    {
        var toOutput = logs == LogStream.StandardOutput;
        var output = new CliOutput(parse.GetValue(_json), _environment.Output, _environment.Error, singleLine: toOutput);
        try
        {
            var configuration = CliConfiguration.Build(_environment.BaseDirectory, parse.GetValue(_config), _environment.Variables);
            var (options, errors) = BackupDrConfiguration.TryLoad(configuration);
            if (errors.Count > 0)
            {
                return output.InvalidConfiguration(errors);
            }

            await using var logger = LoggerSetup.Create(options.Logging, logs, toOutput ? _environment.OutputIsTerminal : _environment.ErrorIsTerminal);
            using var loggerFactory = new SerilogLoggerFactory(logger);
            using var invocation = new CommandInvocation(parse, options, output, loggerFactory, _environment.Time);
            return await handler(invocation, cancellationToken);
        }
        catch (Exception e) when (e is UsageException or PassphraseUnavailableException or WrongPassphraseException or WeakPassphraseException
            or RepositoryNotFoundException or RestoreRefusedException or BackupNotFoundException or FilestoreRestoreRefusedException)
        {
            // The operator must change an argument, the configuration or a secret: nothing was done.
            return output.Fail(ExitCodes.Usage, e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return output.Fail(ExitCodes.Failed, "cancelled before completion; nothing was committed");
        }
        catch (Exception e)
        {
            // The command boundary: any failure becomes exit code 1 with its message, never a green run.
            return output.Fail(ExitCodes.Failed, e.Message);
        }
    }

    /// <summary>The words of the invoked command, e.g. <c>backupdr repo init</c>.</summary>
    private static string CommandPath(ParseResult parse)
    {
        var words = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            words.Add(result.Command.Name);
        }

        words.Reverse();
        return string.Join(' ', words);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^(latest|sample|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$")]
    private static partial System.Text.RegularExpressions.Regex BackupReference();
}
