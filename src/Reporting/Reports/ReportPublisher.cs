using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using BackupDr.Reporting.Alerts;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using MimeKit;

namespace BackupDr.Reporting.Reports;

/// <param name="Folder">Where the three files were stored in the repository.</param>
/// <param name="Files">Name, SHA-256 and size of each file.</param>
/// <param name="Sent">Recipients the report was mailed to (empty unless asked).</param>
internal sealed record PublishedReport(MonthlyReport Report, string Folder, IReadOnlyList<(string Name, string Sha256, long Bytes)> Files, int PdfPages, IReadOnlyList<string> Sent);

/// <summary>
/// Builds the month's report from the repository, stores report.json, report.html and report.pdf create-only under
/// <c>reports/&lt;yyyy-MM&gt;/&lt;generated-at&gt;/</c> (every published version stays), appends a ReportPublished record
/// with their SHA-256s to the audit trail, and optionally writes copies to a folder and mails them.
/// </summary>
internal static class ReportPublisher
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static async Task<PublishedReport> PublishAsync(
        BackupRepository repository, BackupDrOptions options, DateOnly month, TimeProvider time, string? outDirectory, bool send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(options);
        var now = time.GetUtcNow();
        var periodStart = new DateTimeOffset(month.Year, month.Month, 1, 0, 0, 0, TimeSpan.Zero);
        if (periodStart > now)
        {
            throw new ArgumentOutOfRangeException(nameof(month), $"{month:yyyy-MM} has not begun yet");
        }

        var periodEnd = periodStart.AddMonths(1) < now ? periodStart.AddMonths(1) : now;
        var inputs = await ReportSource.LoadAsync(
            repository.Store, repository.MasterKey, [.. options.Targets.Select(t => t.Name)], [.. options.Targets.Where(t => t.Pitr.Enabled).Select(t => t.Name)],
            periodStart, periodEnd, cancellationToken);
        var report = ReportBuilder.Build(options, inputs, month, now, repository.Store.Location);

        // The PDF (most of the rendering time, one thread) is drawn while the JSON and the HTML are written.
        using var pdfStream = new MemoryStream();
        var rendering = Task.Run(() => PdfReportRenderer.Render(report, pdfStream), cancellationToken);
        var json = JsonSerializer.SerializeToUtf8Bytes(report, JsonOptions);
        var html = Encoding.UTF8.GetBytes(HtmlReportRenderer.Render(report));
        var pages = await rendering;
        var pdf = pdfStream.ToArray();
        var files = new[] { ("report.json", json), ("report.html", html), ("report.pdf", pdf) };

        var folder = $"reports/{report.Month}/{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}";
        var stored = new List<(string Name, string Sha256, long Bytes)>();
        foreach (var (name, bytes) in files)
        {
            using var body = new MemoryStream(bytes, writable: false);
            var put = await repository.Store.PutAsync(ObjectKey.Parse($"{folder}/{name}"), body, PutOptions.CreateOnly, cancellationToken);
            stored.Add((name, put.Sha256Hex, put.SizeBytes));
        }

        using (var trail = new AuditTrail(repository.Store, repository.MasterKey, time))
        {
            await trail.AppendAsync(
                new AuditEntry(AuditEventKind.ReportPublished, "", report.Month,
                    new Dictionary<string, string>(stored.Select(f => KeyValuePair.Create(f.Name + ".sha256", f.Sha256))) { ["folder"] = folder }),
                cancellationToken);
        }

        if (outDirectory is not null)
        {
            Directory.CreateDirectory(outDirectory);
            foreach (var (name, bytes) in files)
            {
                await File.WriteAllBytesAsync(Path.Combine(outDirectory, $"backupdr-report-{report.Month}.{name.Split('.')[1]}"), bytes, cancellationToken);
            }
        }

        var sent = send ? await SendAsync(options.Notifications.Email, report, html, pdf, cancellationToken) : [];
        return new PublishedReport(report, folder, stored, pages, sent);
    }

    private static async Task<IReadOnlyList<string>> SendAsync(EmailOptions email, MonthlyReport report, byte[] html, byte[] pdf, CancellationToken cancellationToken)
    {
        var mail = new MimeMessage();
        mail.From.Add(MailboxAddress.Parse(email.From));
        foreach (var address in email.Reports)
        {
            mail.To.Add(MailboxAddress.Parse(address));
        }

        mail.Subject = $"[BackupDr] Recoverability report {report.Month}: {report.Summary.Headline}";
        var text = new StringBuilder()
            .AppendLine(report.Summary.Headline)
            .AppendLine()
            .AppendLine(report.Alerts.Statement);
        foreach (var line in report.Summary.Lines)
        {
            text.AppendLine("- " + line);
        }

        text.AppendLine().AppendLine("The full report is attached as HTML and PDF; every figure names the backups and drills it rests on.");
        var body = new BodyBuilder { TextBody = text.ToString() };
        body.Attachments.Add($"backupdr-report-{report.Month}.html", html, new ContentType("text", "html"));
        body.Attachments.Add($"backupdr-report-{report.Month}.pdf", pdf, new ContentType("application", "pdf"));
        mail.Body = body.ToMessageBody();
        await new SmtpMailer(email).SendAsync(mail, cancellationToken);
        return email.Reports;
    }
}
