using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using BackupDr.Reporting.Reports;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    private Func<CommandInvocation, CancellationToken, Task<int>> ReportHandler(Option<string> month, Option<string?> outDirectory, Option<bool> send) =>
        async (invocation, cancellationToken) =>
        {
            var period = DateOnly.ParseExact(invocation.Parse.GetRequiredValue(month) + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture);
            var email = invocation.Options.Notifications.Email;
            var mail = invocation.Parse.GetValue(send);
            if (mail && (!email.IsEnabled || email.Reports.Count == 0))
            {
                throw new UsageException("--send needs Notifications:Email:Host, From and Reports (the report recipients); nothing was built");
            }

            var now = invocation.Time.GetUtcNow();
            if (new DateTimeOffset(period.Year, period.Month, 1, 0, 0, 0, TimeSpan.Zero) > now)
            {
                throw new UsageException($"--month {period:yyyy-MM} has not begun yet (today is {now:yyyy-MM-dd} UTC)");
            }

            using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
            var published = await new CliProgress(_environment).RunAsync($"report {period:yyyy-MM}", _ =>
                ReportPublisher.PublishAsync(repository, invocation.Options, period, invocation.Time, invocation.Parse.GetValue(outDirectory), mail, cancellationToken));
            var report = published.Report;
            var document = new JsonObject
            {
                ["month"] = report.Month,
                ["headline"] = report.Summary.Headline,
                ["environments"] = report.Summary.Environments,
                ["proven"] = report.Summary.Proven,
                ["missedRto"] = report.Summary.MissedRto,
                ["missedRpo"] = report.Summary.MissedRpo,
                ["alerts"] = report.Alerts.Statement,
                ["folder"] = published.Folder,
                ["pdfPages"] = published.PdfPages,
                ["files"] = new JsonArray(published.Files.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["sha256"] = f.Sha256, ["bytes"] = f.Bytes }).ToArray()),
                ["sentTo"] = new JsonArray(published.Sent.Select(r => (JsonNode)r).ToArray()),
            };
            var text = string.Join(Environment.NewLine, [
                report.Summary.Headline,
                .. report.Summary.Lines.Select(l => "  - " + l),
                report.Alerts.Statement,
                $"stored in {repository.Store.Location}/{published.Folder} (report.html, report.pdf with {published.PdfPages} pages, report.json)",
                .. published.Sent.Count > 0 ? [$"mailed to {string.Join(", ", published.Sent)}"] : Array.Empty<string>(),
            ]);
            return invocation.Output.Success(document, text);
        };
}
