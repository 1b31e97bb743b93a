using System.Globalization;
using System.Text.Json.Nodes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.TestSupport;
using MimeKit;
using Npgsql;

namespace BackupDr.IntegrationTests.Worker;

/// <summary>
/// The alert path end to end from a running <c>backupdr run</c>: scheduled backups of a target whose database has gone
/// fail, on-call gets one "backup failed" mail from a real SMTP server (STARTTLS, authentication) however often the
/// backup fails again, and one "resolved" mail once a backup succeeds.
/// </summary>
public sealed class WorkerAlertTests(PostgresFixture postgres, SmtpFixture smtp) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(15);

    private BackupScenario _scenario = null!;

    public async ValueTask InitializeAsync()
    {
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), TestContext.Current.CancellationToken);
        await _scenario.RunJsonAsync("repo", "init");
    }

    public ValueTask DisposeAsync() => _scenario.DisposeAsync();

    [Fact]
    public async Task Run_ScheduledBackupsFailThenRecover_OnCallGetsOneFiringMailNamingTheTargetThenOneResolvedMail()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // A good backup first: "no recent good backup" stays quiet, so the only incident is the failing job's.
        await _scenario.BackupAsync();
        var database = _scenario.Source.Name;
        await RenameDatabaseAsync(database, database + "_gone", cancellationToken);

        var recipient = SmtpFixture.CreateRecipient("oncall");
        await using var worker = WorkerProcess.Start(_scenario.ConfigPath, new Dictionary<string, string>(_scenario.Variables)
        {
            ["BackupDr__Scheduler__ShutdownTimeout"] = ShutdownTimeout.ToString("c"),
            ["BackupDr__Targets__0__BackupSchedule"] = "0/2 * * * * ?",
            ["BackupDr__Notifications__Email__Host"] = smtp.Host,
            ["BackupDr__Notifications__Email__Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["BackupDr__Notifications__Email__UseTls"] = "true",
            ["BackupDr__Notifications__Email__TrustedCertificateSha256"] = smtp.CertificateSha256,
            ["BackupDr__Notifications__Email__Username"] = smtp.Username,
            ["BackupDr__Notifications__Email__Password"] = smtp.Password,
            ["BackupDr__Notifications__Email__From"] = "backupdr@example.test",
            ["BackupDr__Notifications__Email__OnCall__0"] = recipient,
        });

        // The backup job fails, and the alert of its first failure leaves before the next job can start.
        await WaitForFailedBackupsAsync(worker, 1, cancellationToken);
        var firing = (await smtp.WaitForMessagesAsync(recipient, 1, cancellationToken)).ShouldHaveSingleItem();
        firing.Message.Subject.ShouldBe($"[BackupDr] FIRING acme/production {BackupScenario.Target}: backup failed");
        firing.Secure.ShouldBeTrue("STARTTLS was used");
        firing.User.ShouldBe(smtp.Username);
        var text = firing.Message.TextBody ?? "";
        text.ShouldContain("Tenant:        acme");
        text.ShouldContain("Environment:   production");
        text.ShouldContain($"Target:        {BackupScenario.Target}");
        text.ShouldContain($"Do first:      Read the error below, fix its cause, then run 'backupdr backup --target {BackupScenario.Target}'");
        text.ShouldContain($"\"{database}\" does not exist", Case.Sensitive, "the error itself is in the mail");
        (firing.Message.HtmlBody ?? "").ShouldContain("backup failed");
        text.ShouldNotContain(smtp.Password);

        // Two more failures (each job's alerting ends before the next job starts): the incident is open, no new mail.
        await WaitForFailedBackupsAsync(worker, 3, cancellationToken);
        smtp.MessagesFor(recipient).Count.ShouldBe(1, "one open incident per target and rule: no repeat before ReminderEvery");

        await RenameDatabaseAsync(database + "_gone", database, cancellationToken);
        var messages = await smtp.WaitForMessagesAsync(recipient, 2, cancellationToken);
        messages.Count.ShouldBe(2);
        var resolved = messages[1].Message;
        resolved.Subject.ShouldBe($"[BackupDr] RESOLVED acme/production {BackupScenario.Target}: backup failed");
        resolved.Headers[HeaderId.InReplyTo].ShouldBe(firing.Message.Headers[HeaderId.MessageId], "the resolution threads with the alert");
        (resolved.TextBody ?? "").ShouldContain("Since:");

        await worker.TerminateAsync(cancellationToken);
        (await worker.WaitForExitAsync(ShutdownTimeout, cancellationToken)).ExitCode.ShouldBe(0, worker.Log);
        smtp.MessagesFor(recipient).Count.ShouldBe(2, "nothing more after the resolution");
        Directory.GetFiles(Path.Combine(_scenario.LocalRepositoryPath, "alerts", "incidents"), "*.json", SearchOption.AllDirectories)
            .Select(Path.GetFileName).ShouldContain("resolved.json");
    }

    [Fact]
    public async Task Run_MonthlyCanary_SendsTheDrillRuleAlertOfAProbeFailedOnPurposeAndTheReportQuotesTheProof()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await _scenario.BackupAsync();
        var recipient = SmtpFixture.CreateRecipient("canary");
        await using var receiver = new WebhookReceiver();
        await using var worker = WorkerProcess.Start(_scenario.ConfigPath, new Dictionary<string, string>(_scenario.Variables)
        {
            ["BackupDr__Scheduler__ShutdownTimeout"] = ShutdownTimeout.ToString("c"),
            ["BackupDr__Scheduler__HeartbeatInterval"] = "00:00:01",
            ["BackupDr__Notifications__Email__Host"] = smtp.Host,
            ["BackupDr__Notifications__Email__Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["BackupDr__Notifications__Email__TrustedCertificateSha256"] = smtp.CertificateSha256,
            ["BackupDr__Notifications__Email__Username"] = smtp.Username,
            ["BackupDr__Notifications__Email__Password"] = smtp.Password,
            ["BackupDr__Notifications__Email__From"] = "backupdr@example.test",
            ["BackupDr__Notifications__Email__OnCall__0"] = recipient,
            ["BackupDr__Notifications__Webhook__Url"] = receiver.Url.ToString(),
        });

        // The month's canary is the first alerting round's duty: the drill alert rule's own message, marked as the canary.
        await worker.WaitForLineAsync(l => l.Contains("Monthly alert canary of", StringComparison.Ordinal), Patience, cancellationToken);
        var mail = (await smtp.WaitForMessagesAsync(recipient, 1, cancellationToken)).ShouldHaveSingleItem().Message;
        mail.Subject.ShouldBe("[BackupDr] CANARY (failed on purpose, nothing to fix) backupdr/canary alert-canary: restore drill failed");
        var text = mail.TextBody ?? "";
        text.ShouldContain(": Failed.", Case.Sensitive, "the drill verdict of the probe that failed");
        text.ShouldContain("critical probe alert-canary failed: failed on purpose");
        var hook = JsonNode.Parse((await receiver.NextAsync(cancellationToken)).BodyText)!["backupdr"]!;
        hook["state"]!.GetValue<string>().ShouldBe("Canary");
        hook["rule"]!.GetValue<string>().ShouldBe("DrillFailed");

        await worker.TerminateAsync(cancellationToken);
        (await worker.WaitForExitAsync(ShutdownTimeout, cancellationToken)).ExitCode.ShouldBe(0, worker.Log);
        smtp.MessagesFor(recipient).Count.ShouldBe(1, "once a month, claimed in the repository: no second canary");

        var record = JsonNode.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(_scenario.LocalRepositoryPath, "alerts", "canary")).ShouldHaveSingleItem()))!;
        record["kind"]!.GetValue<string>().ShouldBe("Scheduled");
        record["rule"]!.GetValue<string>().ShouldBe("DrillFailed");
        record["evidence"]!.GetValue<string>().ShouldContain("probe alert-canary (critical) Failed");
        record["deliveries"]!.AsArray().Select(d => (d!["notifier"]!.GetValue<string>(), d["delivered"]!.GetValue<bool>()))
            .ShouldBe([("email", true), ("webhook", true)], ignoreOrder: true);
        (await _scenario.KeysAsync($"targets/{BackupScenario.Target}/drills/", cancellationToken)).ShouldBeEmpty("the canary's drill is never stored");

        var month = TimeProvider.System.GetUtcNow().ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var report = await _scenario.RunJsonAsync("report", "--month", month);
        var published = JsonNode.Parse(File.ReadAllText(Path.Combine(_scenario.LocalRepositoryPath, report["folder"]!.GetValue<string>(), "report.json")))!;
        published["alerts"]!["statement"]!.GetValue<string>().ShouldBe(
            $"Alerts proven to reach on-call on {TimeProvider.System.GetUtcNow():yyyy-MM-dd}.");
    }

    private static Task WaitForFailedBackupsAsync(WorkerProcess worker, int count, CancellationToken cancellationToken) =>
        Eventually.HoldsAsync(
            () => Task.FromResult(worker.Lines.Count(l => l.Contains("\"Scheduled {Job} of {Target} failed: {Error}\"", StringComparison.Ordinal)
                && JsonNode.Parse(l)!["Job"]!.GetValue<string>() == "backup") >= count),
            Patience, () => $"fewer than {count} failed scheduled backups:\n{worker.Log}", cancellationToken);

    /// <summary>Ends every session on <paramref name="from"/> (this process's pooled ones too) and renames it.</summary>
    private async Task RenameDatabaseAsync(string from, string to, CancellationToken cancellationToken)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(postgres.AdminConnectionString);
        await admin.OpenAsync(cancellationToken);
        await using (var end = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @db AND pid <> pg_backend_pid()", admin))
        {
            end.Parameters.AddWithValue("db", from);
            await end.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var rename = new NpgsqlCommand($"ALTER DATABASE \"{from}\" RENAME TO \"{to}\"", admin);
        await rename.ExecuteNonQueryAsync(cancellationToken);
    }
}
