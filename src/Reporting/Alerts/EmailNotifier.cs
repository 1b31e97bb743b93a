using BackupDr.Repository.Configuration;
using MimeKit;

namespace BackupDr.Reporting.Alerts;

/// <summary>
/// Alerts by mail to Notifications:Email:OnCall, plain text and HTML. The messages of one incident thread together
/// in mail clients: the firing message's Message-Id derives from the incident id, and reminders and the resolution
/// refer to it.
/// </summary>
internal sealed class EmailNotifier(EmailOptions options) : INotifier
{
    private readonly SmtpMailer _mailer = new(options);

    public string Name => "email";

    public Task SendAsync(AlertMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var mail = new MimeMessage();
        mail.From.Add(MailboxAddress.Parse(options.From));
        foreach (var address in options.OnCall)
        {
            mail.To.Add(MailboxAddress.Parse(address));
        }

        mail.Subject = message.Subject;
        mail.Date = message.At;
        var thread = $"{message.IncidentId}@backupdr";
        if (message.State is AlertState.Firing or AlertState.Test or AlertState.Canary)
        {
            mail.MessageId = thread;
        }
        else
        {
            mail.InReplyTo = thread;
            mail.References.Add(thread);
        }

        mail.Headers.Add("X-BackupDr-Incident", message.IncidentId);
        mail.Headers.Add("X-BackupDr-State", message.State.ToString());
        mail.Body = new BodyBuilder { TextBody = message.ToText(), HtmlBody = message.ToHtml() }.ToMessageBody();
        return _mailer.SendAsync(mail, cancellationToken);
    }
}
