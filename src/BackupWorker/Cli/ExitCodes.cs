namespace BackupDr.BackupWorker.Cli;

/// <summary>The exit codes of every <c>backupdr</c> command (the CLI contract).</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The operation failed: a backup failed, verify found damage, a drill failed.</summary>
    public const int Failed = 1;

    /// <summary>Bad arguments or configuration; nothing was done.</summary>
    public const int Usage = 2;
}

/// <summary>Bad arguments: the command did nothing. Maps to <see cref="ExitCodes.Usage"/>.</summary>
internal sealed class UsageException(string message) : Exception(message);
