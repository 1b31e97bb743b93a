using System.Globalization;
using System.Net;
using System.Text;

namespace BackupDr.Reporting.Reports;

/// <summary>
/// The report as one self-contained HTML file: inline CSS and SVG charts, no script, no external resource, so it
/// reads offline, survives mail gateways and prints well (each environment stays on one page).
/// </summary>
internal static class HtmlReportRenderer
{
    private const string Css = """
        body{font-family:"DejaVu Sans",Arial,sans-serif;color:#1f2328;margin:2em auto;max-width:1100px;padding:0 1em;font-size:14px}
        h1{font-size:24px;margin-bottom:0}h2{font-size:19px;border-bottom:2px solid #d0d7de;padding-bottom:4px;margin-top:2em}
        h3{font-size:15px;margin:1.2em 0 .3em}.muted{color:#656d76}.headline{font-size:20px;font-weight:bold;margin:.6em 0}
        .tiles{display:flex;flex-wrap:wrap;gap:10px;margin:1em 0}.tile{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:120px}
        .tile b{display:block;font-size:20px}table{border-collapse:collapse;width:100%;margin:.5em 0}
        th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f6f8fa}
        td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#1a7f37;font-weight:bold}.bad{color:#cf222e;font-weight:bold}
        .warn{color:#9a6700;font-weight:bold}.env{page-break-inside:avoid;break-inside:avoid;margin-bottom:1.5em}
        .charts{display:flex;gap:16px;flex-wrap:wrap}code{font-size:12px;word-break:break-all}
        @media print{body{margin:0;max-width:none}h2{page-break-before:auto}.tile{min-width:100px}}
        """;

    public static string Render(MonthlyReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var html = new StringBuilder(64 * 1024);
        var title = $"Recoverability report {report.Month}";
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(title))
            .Append("</title><style>").Append(Css).Append("</style></head><body>");
        html.Append("<h1>").Append(E(title)).Append("</h1><p class=\"muted\">")
            .Append(E(string.Create(CultureInfo.InvariantCulture,
                $"Period {report.PeriodStart:yyyy-MM-dd} to {report.PeriodEnd:yyyy-MM-dd HH:mm} UTC. Generated {report.GeneratedAt:yyyy-MM-dd HH:mm} UTC from {report.Repository} alone.")))
            .Append("</p>");

        var s = report.Summary;
        html.Append("<h2>Executive summary</h2><p class=\"headline\">").Append(E(s.Headline)).Append("</p><div class=\"tiles\">");
        Tile(html, "environments", s.Environments.ToString(CultureInfo.InvariantCulture));
        Tile(html, "proven recoverable", s.Proven.ToString(CultureInfo.InvariantCulture));
        Tile(html, "missed RTO", s.MissedRto.ToString(CultureInfo.InvariantCulture));
        Tile(html, "missed RPO", s.MissedRpo.ToString(CultureInfo.InvariantCulture));
        Tile(html, "backups taken / scheduled", $"{s.BackupsTaken} / {s.BackupsScheduled}");
        Tile(html, "drills passed / run", $"{s.DrillsPassed} / {s.DrillsRun}");
        Tile(html, "incidents", s.Incidents.ToString(CultureInfo.InvariantCulture));
        html.Append("</div><p>").Append(E(report.Alerts.Statement)).Append("</p>");
        if (s.Lines.Count > 0)
        {
            html.Append("<h3>Needs attention</h3><ul>");
            foreach (var line in s.Lines)
            {
                html.Append("<li>").Append(E(line)).Append("</li>");
            }

            html.Append("</ul>");
        }

        foreach (var tenant in report.Tenants)
        {
            html.Append("<h2>").Append(E(tenant.Tenant)).Append("</h2><p class=\"muted\">Stored: ").Append(E(ReportFormat.Bytes(tenant.StoredBytes)));
            if (tenant.CostPerMonth is { } cost)
            {
                html.Append(" &middot; cost ").Append(E(ReportFormat.Money(cost, report.Currency))).Append(" per month");
            }

            html.Append("</p><table><tr><th>Environment</th><th>Target</th><th>Tier</th><th>Backups</th><th>Drills passed</th>")
                .Append("<th>Worst RTO / target</th><th>Worst RPO / target</th><th>Worst gap</th><th>Verdict</th></tr>");
            foreach (var e in tenant.Environments)
            {
                html.Append("<tr><td>").Append(E(e.Environment)).Append("</td><td>").Append(E(e.Target)).Append("</td><td>").Append(E(e.Tier))
                    .Append("</td><td class=\"n\">").Append(e.BackupsTaken).Append(" / ").Append(e.BackupsScheduled)
                    .Append("</td><td class=\"n\">").Append(e.DrillsPassed).Append(" / ").Append(e.DrillsRun)
                    .Append("</td><td class=\"n\">").Append(E(ReportFormat.Against(e.WorstRtoSeconds, e.RtoTargetSeconds)))
                    .Append("</td><td class=\"n\">").Append(E(ReportFormat.Against(e.WorstRpoSeconds, e.RpoTargetSeconds)))
                    .Append("</td><td class=\"n\">").Append(E(e.WorstGapSeconds is { } g ? ReportBuilder.Duration(g) : "-"))
                    .Append("</td><td>").Append(Verdict(e.Verdict)).Append("</td></tr>");
            }

            html.Append("</table>");
            foreach (var e in tenant.Environments)
            {
                EnvironmentDetail(html, e);
            }
        }

        html.Append("<h2>Evidence index</h2><p class=\"muted\">Every backup and drill behind these figures, by id and the SHA-256 of its stored record. ")
            .Append("Check any of them with <code>backupdr verify</code> and <code>backupdr audit verify</code>.</p>")
            .Append("<table><tr><th>Kind</th><th>Target</th><th>Id</th><th>At (UTC)</th><th>Result</th><th>SHA-256</th></tr>");
        foreach (var item in report.Evidence)
        {
            html.Append("<tr><td>").Append(E(item.Kind)).Append("</td><td>").Append(E(item.Target)).Append("</td><td><code>").Append(E(item.Id))
                .Append("</code></td><td>").Append(E(item.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)))
                .Append("</td><td>").Append(E(item.Result)).Append("</td><td><code>").Append(E(item.Sha256)).Append("</code></td></tr>");
        }

        return html.Append("</table></body></html>").ToString();
    }

    private static void EnvironmentDetail(StringBuilder html, EnvironmentSection e)
    {
        html.Append("<div class=\"env\"><h3>").Append(E($"{e.Environment} - {e.Target}")).Append(' ').Append(Verdict(e.Verdict)).Append("</h3>");
        if (e.Findings.Count > 0)
        {
            html.Append("<ul>");
            foreach (var finding in e.Findings)
            {
                html.Append("<li>").Append(E(finding)).Append("</li>");
            }

            html.Append("</ul>");
        }

        html.Append("<div class=\"charts\">")
            .Append(TrendChart.Svg("Achieved RTO, worst per month", e.Trend.Select(t => (t.Month, t.RtoSeconds)).ToList(), e.RtoTargetSeconds))
            .Append(TrendChart.Svg("Achieved RPO, worst per month", e.Trend.Select(t => (t.Month, t.RpoSeconds)).ToList(), e.RpoTargetSeconds))
            .Append("</div>");
        if (e.Incidents.Count > 0)
        {
            html.Append("<table><tr><th>Incident</th><th>Rule</th><th>Since (UTC)</th><th>Resolved (UTC)</th><th>Hours to resolve</th><th>What</th></tr>");
            foreach (var i in e.Incidents)
            {
                html.Append("<tr><td><code>").Append(E(i.IncidentId)).Append("</code></td><td>").Append(E(i.Rule)).Append("</td><td>")
                    .Append(E(i.OpenedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))).Append("</td><td>")
                    .Append(E(i.ResolvedAt?.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "still open")).Append("</td><td class=\"n\">")
                    .Append(E(i.HoursToResolve?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-")).Append("</td><td>").Append(E(i.Summary)).Append("</td></tr>");
            }

            html.Append("</table>");
        }

        html.Append("</div>");
    }

    private static void Tile(StringBuilder html, string label, string value) =>
        html.Append("<div class=\"tile\"><b>").Append(E(value)).Append("</b>").Append(E(label)).Append("</div>");

    private static string Verdict(EnvironmentVerdict verdict) => verdict switch
    {
        EnvironmentVerdict.Proven => "<span class=\"ok\">proven</span>",
        EnvironmentVerdict.TargetMissed => "<span class=\"warn\">target missed</span>",
        _ => "<span class=\"bad\">not proven</span>",
    };

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
