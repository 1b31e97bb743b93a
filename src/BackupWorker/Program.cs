using BackupDr.BackupWorker.Cli;

// SIGINT and SIGTERM cancel the token handed to the running command (System.CommandLine wires them).
var cli = new BackupDrCli(CliEnvironment.FromProcess());
return await cli.RunAsync(args, CancellationToken.None);
