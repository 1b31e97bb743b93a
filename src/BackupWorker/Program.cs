using System.Runtime.InteropServices;
using BackupDr.BackupWorker.Cli;

// SIGTERM (Kubernetes, systemd) and SIGINT (Ctrl+C) cancel the running command, which stops its child processes,
// aborts its uploads, commits nothing and exits 1; a second signal is not needed.
using var stop = new CancellationTokenSource();
void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
var cli = new BackupDrCli(CliEnvironment.FromProcess());
return await cli.RunAsync(args, stop.Token);
