using System.Globalization;
using SkiaSharp;

namespace BackupDr.Reporting.Reports;

/// <summary>
/// The report as PDF (SkiaSharp's PDF backend, A4 portrait), with the same sections and figures as the HTML: summary,
/// per tenant a table, per environment findings, two trend charts and incidents, then the evidence index. Fonts are
/// embedded in the assembly, so the output does not depend on the host's fonts.
/// </summary>
internal static class PdfReportRenderer
{
    /// <summary>Writes the PDF to <paramref name="output"/> and returns its page count.</summary>
    public static int Render(MonthlyReport report, Stream output)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var regular = LoadFont("DejaVuSans.ttf");
        using var bold = LoadFont("DejaVuSans-Bold.ttf");
        var metadata = new SKDocumentPdfMetadata
        {
            Title = $"Recoverability report {report.Month}",
            Author = "BackupDr",
            Creator = "BackupDr",
            Creation = report.GeneratedAt.UtcDateTime,
            Modified = report.GeneratedAt.UtcDateTime,
        };
        using var document = SKDocument.CreatePdf(output, metadata);
        using var page = new PdfPageWriter(document, regular, bold, $"BackupDr recoverability report {report.Month}");

        page.Heading($"Recoverability report {report.Month}", 20);
        page.Text(string.Create(CultureInfo.InvariantCulture,
            $"Period {report.PeriodStart:yyyy-MM-dd} to {report.PeriodEnd:yyyy-MM-dd HH:mm} UTC. Generated {report.GeneratedAt:yyyy-MM-dd HH:mm} UTC from {report.Repository} alone."),
            9, PdfPageWriter.Muted);
        page.Space(8);
        var s = report.Summary;
        page.Heading("Executive summary", 14);
        page.Text(s.Headline, 13, SKColors.Black, isBold: true);
        page.Space(4);
        page.Table(
            [110, 110, 80, 80, 130],
            ["Environments", "Proven recoverable", "Missed RTO", "Missed RPO", "Backups taken / scheduled"],
            [[N(s.Environments), N(s.Proven), N(s.MissedRto), N(s.MissedRpo), $"{s.BackupsTaken} / {s.BackupsScheduled}"]]);
        page.Table(
            [130, 110],
            ["Drills passed / run", "Incidents"],
            [[$"{s.DrillsPassed} / {s.DrillsRun}", N(s.Incidents)]]);
        page.Text(report.Alerts.Statement, 10, SKColors.Black);
        if (s.Lines.Count > 0)
        {
            page.Space(6);
            page.Heading("Needs attention", 12);
            foreach (var line in s.Lines)
            {
                page.Text("- " + line, 10, SKColors.Black);
            }
        }

        foreach (var tenant in report.Tenants)
        {
            page.NewPage();
            page.Heading(tenant.Tenant, 16);
            page.Text(
                $"Stored: {ReportFormat.Bytes(tenant.StoredBytes)}" + (tenant.CostPerMonth is { } cost ? $"; cost {ReportFormat.Money(cost, report.Currency)} per month" : ""),
                10, PdfPageWriter.Muted);
            page.Table(
                [62, 86, 38, 48, 44, 88, 88, 56],
                ["Environment", "Target", "Tier", "Backups", "Drills", "Worst RTO / target", "Worst RPO / target", "Verdict"],
                [.. tenant.Environments.Select(e => (IReadOnlyList<string>)[
                    e.Environment, e.Target, e.Tier, $"{e.BackupsTaken}/{e.BackupsScheduled}", $"{e.DrillsPassed}/{e.DrillsRun}",
                    ReportFormat.Against(e.WorstRtoSeconds, e.RtoTargetSeconds), ReportFormat.Against(e.WorstRpoSeconds, e.RpoTargetSeconds), VerdictText(e.Verdict)])]);
            foreach (var e in tenant.Environments)
            {
                page.EnsureSpace(TrendChart.Height + 60);
                page.Heading($"{e.Environment} - {e.Target}: {VerdictText(e.Verdict)}", 11);
                foreach (var finding in e.Findings)
                {
                    page.Text("- " + finding, 9, SKColors.Black);
                }

                page.Charts(
                    ("Achieved RTO, worst per month", e.Trend.Select(t => (t.Month, t.RtoSeconds)).ToList(), e.RtoTargetSeconds),
                    ("Achieved RPO, worst per month", e.Trend.Select(t => (t.Month, t.RpoSeconds)).ToList(), e.RpoTargetSeconds));
                if (e.Incidents.Count > 0)
                {
                    page.Table(
                        [150, 90, 80, 80, 60],
                        ["Incident", "Rule", "Since (UTC)", "Resolved (UTC)", "Hours"],
                        [.. e.Incidents.Select(i => (IReadOnlyList<string>)[
                            i.IncidentId, i.Rule, Stamp(i.OpenedAt), i.ResolvedAt is { } r ? Stamp(r) : "still open",
                            i.HoursToResolve?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-"])]);
                }
            }
        }

        page.NewPage();
        page.Heading("Evidence index", 14);
        page.Text("Every backup and drill behind these figures, by id and the SHA-256 of its stored record.", 9, PdfPageWriter.Muted);
        page.Listing(
            [26, 62, 96, 50, 52, 229],
            ["Kind", "Target", "Id", "At (UTC)", "Result", "SHA-256"],
            report.Evidence.Select(i => (IReadOnlyList<string>)[i.Kind, i.Target, i.Id, Stamp(i.At), i.Result, i.Sha256]),
            fontSize: 5.2f);
        return page.Finish();
    }

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    private static string VerdictText(EnvironmentVerdict verdict) => verdict switch
    {
        EnvironmentVerdict.Proven => "proven",
        EnvironmentVerdict.TargetMissed => "target missed",
        _ => "not proven",
    };

    private static SKTypeface LoadFont(string name)
    {
        using var stream = typeof(PdfReportRenderer).Assembly.GetManifestResourceStream($"BackupDr.Reporting.Fonts.{name}")
            ?? throw new InvalidOperationException($"font {name} is missing from the assembly");
        return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException($"font {name} could not be loaded");
    }
}
