using System.Text.Json.Nodes;
using BackupDr.Reporting.Alerts;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Configuration;
using BackupDr.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupDr.IntegrationTests.Alerts;

/// <summary>The notifiers against real servers: the SMTP sink (STARTTLS, AUTH) and a real HTTP listener.</summary>
public sealed class NotifierTests(SmtpFixture smtp)
{
    private static readonly DateTimeOffset Since = new(2026, 11, 23, 1, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task EmailNotifier_FiringThenResolved_ArriveOverStartTlsWithTextHtmlAndOneThread()
    {
        var recipient = SmtpFixture.CreateRecipient();
        var notifier = new EmailNotifier(Email(recipient));

        await notifier.SendAsync(Message(AlertState.Firing), Ct);
        await notifier.SendAsync(Message(AlertState.Resolved), Ct);

        var messages = await smtp.WaitForMessagesAsync(recipient, 2, Ct);
        var firing = messages[0];
        firing.Secure.ShouldBeTrue();
        firing.User.ShouldBe(smtp.Username);
        firing.Message.Subject.ShouldBe("[BackupDr] FIRING acme/production acme-prod: backup failed");
        firing.Message.TextBody!.ShouldContain("pg_dump exited with code 1");
        firing.Message.TextBody!.ShouldContain("Run 'backupdr backup --target acme-prod'");
        firing.Message.HtmlBody!.ShouldContain("&lt;script&gt;");
        firing.Message.HtmlBody!.ShouldNotContain("<script>");
        var resolved = messages[1].Message;
        resolved.Subject.ShouldStartWith("[BackupDr] RESOLVED");
        resolved.InReplyTo.ShouldBe(firing.Message.MessageId);
        resolved.Headers["X-BackupDr-Incident"].ShouldBe("inc-1");
    }

    [Fact]
    public async Task EmailNotifier_WrongPassword_FailsPermanentlyWithoutThePassword()
    {
        var options = Email(SmtpFixture.CreateRecipient()) with { Password = "not-the-password-3141" };

        var error = await Should.ThrowAsync<NotificationException>(() => new EmailNotifier(options).SendAsync(Message(AlertState.Firing), Ct));

        error.IsTransient.ShouldBeFalse();
        error.Message.ShouldContain("refused the login");
        error.Message.ShouldNotContain("not-the-password-3141");
    }

    [Fact]
    public async Task EmailNotifier_UntrustedCertificate_FailsAndSaysHowToPinIt()
    {
        var options = Email(SmtpFixture.CreateRecipient()) with { TrustedCertificateSha256 = "" };

        var error = await Should.ThrowAsync<NotificationException>(() => new EmailNotifier(options).SendAsync(Message(AlertState.Firing), Ct));

        error.Message.ShouldContain("TrustedCertificateSha256");
    }

    [Fact]
    public async Task WebhookNotifier_WithSecret_PostsTextAndFieldsWithAValidSignature()
    {
        await using var receiver = new WebhookReceiver();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Since.AddHours(2));
        using var http = new HttpClient();
        var notifier = new WebhookNotifier(new WebhookOptions { Url = receiver.Url.ToString(), Secret = "hook-secret" }, http, time);

        await notifier.SendAsync(Message(AlertState.Firing), Ct);

        var request = await receiver.NextAsync(Ct);
        request.Method.ShouldBe("POST");
        request.Headers["Content-Type"].ShouldStartWith("application/json");
        var timestamp = request.Headers[WebhookNotifier.TimestampHeader];
        timestamp.ShouldBe(time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers[WebhookNotifier.SignatureHeader].ShouldBe(WebhookNotifier.Sign("hook-secret", timestamp, request.Body));
        request.Headers[WebhookNotifier.SignatureHeader].ShouldNotBe(WebhookNotifier.Sign("other-secret", timestamp, request.Body));
        var json = JsonNode.Parse(request.BodyText)!;
        json["text"]!.GetValue<string>().ShouldContain("FIRING acme/production acme-prod");
        json["backupdr"]!["rule"]!.GetValue<string>().ShouldBe("BackupFailed");
        json["backupdr"]!["incidentId"]!.GetValue<string>().ShouldBe("inc-1");
    }

    [Fact]
    public async Task Dispatcher_WebhookFailsTwiceThenAccepts_RetriesAndDelivers()
    {
        await using var receiver = new WebhookReceiver();
        receiver.RespondWith(503, 500);
        using var http = new HttpClient();
        var options = Notifications(receiver.Url, attempts: 3);

        var results = await NotificationDispatcher.Create(options, http, TimeProvider.System, NullLogger.Instance).SendAsync(Message(AlertState.Firing), Ct);

        var result = results.ShouldHaveSingleItem();
        result.Delivered.ShouldBeTrue();
        result.Attempts.ShouldBe(3);
        for (var i = 0; i < 3; i++)
        {
            (await receiver.NextAsync(Ct)).Path.ShouldBe("/hooks/on-call");
        }
    }

    [Fact]
    public async Task Dispatcher_PermanentRejection_GivesUpAtOnceAndReportsWithoutTheUrl()
    {
        await using var receiver = new WebhookReceiver();
        receiver.RespondWith(404);
        using var http = new HttpClient();

        var results = await NotificationDispatcher.Create(Notifications(receiver.Url, attempts: 3), http, TimeProvider.System, NullLogger.Instance)
            .SendAsync(Message(AlertState.Firing), Ct);

        var result = results.ShouldHaveSingleItem();
        result.Delivered.ShouldBeFalse();
        result.Attempts.ShouldBe(1);
        result.Error.ShouldBe("webhook answered HTTP 404 Not Found");
    }

    [Fact]
    public async Task Dispatcher_UnreachableWebhookAndWorkingEmail_DeliversByEmailAndReportsTheWebhook()
    {
        var recipient = SmtpFixture.CreateRecipient();
        using var http = new HttpClient();
        var options = Notifications(new Uri("http://127.0.0.1:9/secret-path-XYZ"), attempts: 2) with
        {
            Email = Email(recipient),
        };

        var results = await NotificationDispatcher.Create(options, http, TimeProvider.System, NullLogger.Instance).SendAsync(Message(AlertState.Firing), Ct);

        results.Single(r => r.Notifier == "email").Delivered.ShouldBeTrue();
        var webhook = results.Single(r => r.Notifier == "webhook");
        webhook.Delivered.ShouldBeFalse();
        webhook.Attempts.ShouldBe(2);
        webhook.Error!.ShouldNotContain("secret-path-XYZ");
        (await smtp.WaitForMessagesAsync(recipient, 1, Ct)).ShouldHaveSingleItem();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private EmailOptions Email(string recipient) => new()
    {
        Host = smtp.Host,
        Port = smtp.Port,
        UseTls = true,
        TrustedCertificateSha256 = smtp.CertificateSha256,
        Username = smtp.Username,
        Password = smtp.Password,
        From = "backupdr@example.test",
        OnCall = [recipient],
    };

    private static NotificationsOptions Notifications(Uri webhook, int attempts) => new()
    {
        Email = new EmailOptions(),
        Webhook = new WebhookOptions { Url = webhook.ToString() },
        Attempts = attempts,
        RetryDelay = TimeSpan.FromMilliseconds(1),
    };

    private static AlertMessage Message(AlertState state) => new(
        state, AlertRule.BackupFailed, "acme", "production", "acme-prod",
        "The nightly backup of acme-prod failed.", "pg_dump exited with code 1: <script>alert(1)</script>",
        Since, "Run 'backupdr backup --target acme-prod' and read its error.", "inc-1", Since.AddHours(1));
}
