namespace BackupDr.Reporting.Alerts;

/// <summary>One way of reaching on-call (email, webhook).</summary>
internal interface INotifier
{
    /// <summary>Short name for logs and results: "email", "webhook".</summary>
    string Name { get; }

    /// <summary>Delivers the message once; does not retry (<see cref="NotificationDispatcher"/> does).</summary>
    /// <exception cref="NotificationException">Not delivered; the message says why and never holds a secret.</exception>
    Task SendAsync(AlertMessage message, CancellationToken cancellationToken);
}

/// <summary>A notifier could not deliver. <see cref="IsTransient"/>: trying again may help.</summary>
internal sealed class NotificationException(string message, bool isTransient, Exception? innerException = null)
    : Exception(message, innerException)
{
    public bool IsTransient { get; } = isTransient;
}

/// <param name="Error">Why the last attempt failed; null when delivered.</param>
internal sealed record NotificationResult(string Notifier, bool Delivered, int Attempts, string? Error);
