using System.Diagnostics;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Storage;
using BackupDr.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.IntegrationTests.Reports;

/// <summary>
/// <c>backupdr report</c> end to end on a generated fleet: the files in the repository and in --out, the audit record,
/// the mail with both attachments at a real SMTP server, the HTML rendered by headless Chromium and the PDF by
/// pdftoppm with the page count the command reported.
/// </summary>
public sealed class ReportCommandTests(SmtpFixture smtp) : IDisposable
{
    private const string Passphrase = "report test passphrase 2026";
    private readonly string _folder = Directory.CreateTempSubdirectory("backupdr-report-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Report_FleetMonth_StoresMailsAndRendersTheReport()
    {
        var recipient = SmtpFixture.CreateRecipient("reports");
        var repository = Path.Combine(_folder, "repository");
        var variables = new Dictionary<string, string>
        {
            ["BackupDr__Repository__Passphrase"] = Passphrase,
            ["BackupDr__Notifications__Email__Password"] = smtp.Password,
        };
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 7, 0, 0, TimeSpan.Zero));
        var config = Path.Combine(_folder, "config.json");
        await File.WriteAllTextAsync(config, """{ "BackupDr": { "Repository": { "Kind": "Local", "Path": "REPO" }, "Sandbox": { "Kind": "Local", "WorkPath": "/tmp/x" } } }""".Replace("REPO", repository, StringComparison.Ordinal), Ct);
        (await CliHarness.RunAsync(variables, time, "repo", "init", "--config", config)).ExitCode.ShouldBe(0);

        var store = new LocalObjectStore(repository);
        IReadOnlyList<FleetTarget> fleet;
        using (var opened = await BackupRepository.OpenAsync(store, Passphrase, Ct))
        {
            fleet = await SyntheticFleet.WriteAsync(store, opened.MasterKey, 12, new DateOnly(2026, 10, 1), 12, Ct);
        }

        var fleetConfig = SyntheticFleet.Configuration(fleet, $$"""{ "Kind": "Local", "Path": "{{repository}}" }""", Path.Combine(_folder, "sandboxes"))
            .Replace("\"Targets\"", $$"""
                "Notifications": { "Email": { "Host": "{{smtp.Host}}", "Port": {{smtp.Port}}, "TrustedCertificateSha256": "{{smtp.CertificateSha256}}",
                  "Username": "{{smtp.Username}}", "From": "backupdr@example.test", "Reports": [ "{{recipient}}" ] } }, "Targets"
                """, StringComparison.Ordinal);
        await File.WriteAllTextAsync(config, fleetConfig, Ct);
        var outDir = Path.Combine(_folder, "out");

        var result = await CliHarness.RunAsync(variables, time, "report", "--month", "2026-10", "--out", outDir, "--send", "--json", "--config", config);

        result.ExitCode.ShouldBe(0, result.ToString());
        var json = result.Json;
        json["environments"]!.GetValue<int>().ShouldBe(12);
        var folder = json["folder"]!.GetValue<string>();
        folder.ShouldStartWith("reports/2026-10/");
        foreach (var name in new[] { "report.json", "report.html", "report.pdf" })
        {
            File.Exists(Path.Combine(repository, folder, name)).ShouldBeTrue(name);
        }

        using (var opened = await BackupRepository.OpenAsync(store, Passphrase, Ct))
        using (var trail = new AuditTrail(store, opened.MasterKey, time))
        {
            var record = (await trail.VerifyAsync(Ct)).Last!;
            record.Kind.ShouldBe(AuditEventKind.ReportPublished);
            record.Subject.ShouldBe("2026-10");
            record.Details["folder"].ShouldBe(folder);
        }

        var mail = (await smtp.WaitForMessagesAsync(recipient, 1, Ct)).Single().Message;
        mail.Subject.ShouldStartWith("[BackupDr] Recoverability report 2026-10:");
        mail.Attachments.Select(a => a.ContentType.MimeType).ShouldBe(["text/html", "application/pdf"]);

        var html = Path.Combine(outDir, "backupdr-report-2026-10.html");
        var pdf = Path.Combine(outDir, "backupdr-report-2026-10.pdf");
        var screenshot = Path.Combine(_folder, "report.png");
        await RunToolAsync("chromium", "apt-get install chromium",
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", $"--screenshot={screenshot}", "--window-size=1200,2400", new Uri(html).AbsoluteUri);
        new FileInfo(screenshot).Length.ShouldBeGreaterThan(20_000);
        await RunToolAsync("pdftoppm", "apt-get install poppler-utils", "-r", "30", "-png", pdf, Path.Combine(_folder, "page"));
        var pages = Directory.GetFiles(_folder, "page-*.png");
        pages.Length.ShouldBe(json["pdfPages"]!.GetValue<int>());
        pages.ShouldAllBe(p => new FileInfo(p).Length > 1_000);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task RunToolAsync(string tool, string install, params string[] args)
    {
        var path = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
        if (path is null)
        {
            TestEnvironment.Unavailable(tool, install);
            return;
        }

        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        await process.StandardOutput.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        process.ExitCode.ShouldBe(0, $"{tool} failed: {await stderr}");
    }
}
