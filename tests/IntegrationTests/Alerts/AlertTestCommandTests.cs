using System.Text.Json.Nodes;
using BackupDr.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.IntegrationTests.Alerts;

/// <summary><c>backupdr alert test</c> through the real CLI, a real SMTP server and a real HTTP listener.</summary>
public sealed class AlertTestCommandTests(SmtpFixture smtp) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("backupdr-alert-test-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task AlertTest_EmailAndWebhookWork_DeliversBothAndRecordsTheProof()
    {
        var recipient = SmtpFixture.CreateRecipient();
        await using var receiver = new WebhookReceiver();

        var result = await RunAsync(Config(recipient, receiver.Url, attempts: 3), "alert", "test", "--json");

        result.ExitCode.ShouldBe(0, result.ToString());
        var notifiers = result.Json["notifiers"]!.AsArray();
        notifiers.Select(n => (n!["notifier"]!.GetValue<string>(), n["delivered"]!.GetValue<bool>())).ShouldBe([("email", true), ("webhook", true)], ignoreOrder: true);
        (await smtp.WaitForMessagesAsync(recipient, 1, Ct)).Single().Message.Subject.ShouldBe("[BackupDr] TEST alert: on-call notifications work");
        JsonNode.Parse((await receiver.NextAsync(Ct)).BodyText)!["backupdr"]!["state"]!.GetValue<string>().ShouldBe("Test");
        var record = JsonNode.Parse(File.ReadAllText(Path.Combine(_folder, "repository", result.Json["recorded"]!.GetValue<string>())))!;
        record["kind"]!.GetValue<string>().ShouldBe("Manual");
        record["deliveries"]!.AsArray().Count.ShouldBe(2);
        result.All.ShouldNotContain(smtp.Password);
    }

    [Fact]
    public async Task AlertTest_WebhookRejects_ExitsOneNamingItAndRecordsTheFailure()
    {
        var recipient = SmtpFixture.CreateRecipient();
        await using var receiver = new WebhookReceiver();
        receiver.RespondWith(500);

        var result = await RunAsync(Config(recipient, receiver.Url, attempts: 1), "alert", "test");

        result.ExitCode.ShouldBe(1, result.ToString());
        result.Error.ShouldContain("webhook  FAILED");
        result.Error.ShouldContain("HTTP 500");
        var record = Directory.GetFiles(Path.Combine(_folder, "repository", "alerts", "canary")).ShouldHaveSingleItem();
        File.ReadAllText(record).ShouldContain("\"delivered\": false");
    }

    [Fact]
    public async Task AlertTest_NoNotifierConfigured_ExitsTwoAndSaysWhatToSet()
    {
        var result = await RunAsync(
            $$"""{ "BackupDr": { "Repository": { "Kind": "Local", "Path": "{{_folder}}/repository" }, "Sandbox": { "Kind": "Local", "WorkPath": "{{_folder}}/sandboxes" } } }""",
            "alert", "test");

        result.ExitCode.ShouldBe(2, result.ToString());
        result.Error.ShouldContain("Notifications:Webhook:Url");
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Config(string recipient, Uri webhook, int attempts) => $$"""
    {
      "BackupDr": {
        "Repository": { "Kind": "Local", "Path": "{{_folder}}/repository" },
        "Sandbox": { "Kind": "Local", "WorkPath": "{{_folder}}/sandboxes" },
        "Notifications": {
          "Email": { "Host": "{{smtp.Host}}", "Port": {{smtp.Port}}, "UseTls": true, "TrustedCertificateSha256": "{{smtp.CertificateSha256}}",
                     "Username": "{{smtp.Username}}", "From": "backupdr@example.test", "OnCall": [ "{{recipient}}" ] },
          "Webhook": { "Url": "{{webhook}}" },
          "Attempts": {{attempts}},
          "RetryDelay": "00:00:00.001"
        }
      }
    }
    """;

    private async Task<CliResult> RunAsync(string config, params string[] args)
    {
        var path = Path.Combine(_folder, "config.json");
        await File.WriteAllTextAsync(path, config, Ct);
        var variables = new Dictionary<string, string> { ["BackupDr__Notifications__Email__Password"] = smtp.Password };
        return await CliHarness.RunAsync(variables, new FakeTimeProvider(new DateTimeOffset(2026, 11, 3, 9, 0, 0, TimeSpan.Zero)), [.. args, "--config", path]);
    }
}
