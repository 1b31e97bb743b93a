using System.Globalization;
using System.Net;
using System.Text;
using BackupDr.Repository.Alerts;

namespace BackupDr.Reporting.Alerts;

/// <summary>Where an incident stands in this message.</summary>
internal enum AlertState
{
    Firing,
    Reminder,
    Resolved,
    Test,

    /// <summary>The monthly canary: a real rule's alert about a drill that failed on purpose.</summary>
    Canary,
}

/// <summary>
/// One message to on-call. It names who is affected, what happened, since when and what to do first, so that it
/// can be acted on from a phone at night without opening anything else. Never contains a secret.
/// </summary>
/// <param name="Summary">What happened, one sentence.</param>
/// <param name="Details">Evidence: ids, the error as logged, figures against targets.</param>
/// <param name="Since">When the incident began (the first failure), not when this message was sent.</param>
/// <param name="FirstAction">What to do first.</param>
/// <param name="IncidentId">Stable across the firing, reminder and resolved messages of one incident.</param>
internal sealed record AlertMessage(
    AlertState State,
    AlertRule Rule,
    string Tenant,
    string Environment,
    string Target,
    string Summary,
    string Details,
    DateTimeOffset Since,
    string FirstAction,
    string IncidentId,
    DateTimeOffset At)
{
    public string Subject => State switch
    {
        AlertState.Resolved => $"[BackupDr] RESOLVED {Tenant}/{Environment} {Target}: {RuleTitle(Rule)}",
        AlertState.Reminder => $"[BackupDr] STILL FIRING {Tenant}/{Environment} {Target}: {RuleTitle(Rule)}",
        AlertState.Test => "[BackupDr] TEST alert: on-call notifications work",
        AlertState.Canary => $"[BackupDr] CANARY (failed on purpose, nothing to fix) {Tenant}/{Environment} {Target}: {RuleTitle(Rule)}",
        _ => $"[BackupDr] FIRING {Tenant}/{Environment} {Target}: {RuleTitle(Rule)}",
    };

    public static string RuleTitle(AlertRule rule) => rule switch
    {
        AlertRule.BackupFailed => "backup failed",
        AlertRule.BackupMissing => "no recent good backup",
        AlertRule.VerifyFoundDamage => "verify found damage in the repository",
        AlertRule.FilestoreDamage => "filestore damaged at the source",
        AlertRule.DrillFailed => "restore drill failed",
        AlertRule.RtoMissed => "recovery time objective missed",
        AlertRule.RpoMissed => "recovery point objective missed",
        AlertRule.SandboxCleanupFailed => "sandbox cleanup failed",
        AlertRule.PitrArchiveLagging => "WAL archive lagging or slot filling the source's disk",
        AlertRule.PitrArchiveHole => "hole in the WAL archive: point-in-time recovery broken",
        AlertRule.Test => "test alert",
        _ => rule.ToString(),
    };

    /// <summary>The plain-text body (mail, and the text of chat webhooks).</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        text.AppendLine(Subject).AppendLine();
        foreach (var (label, value) in Fields())
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{label + ":",-14} {value}");
        }

        if (Details.Length > 0)
        {
            text.AppendLine().AppendLine(Details);
        }

        return text.ToString();
    }

    /// <summary>The HTML body: the same facts, every value encoded.</summary>
    public string ToHtml()
    {
        var colour = State switch
        {
            AlertState.Resolved => "#1a7f37",
            AlertState.Test or AlertState.Canary => "#0969da",
            _ => "#cf222e",
        };
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">")
            .Append(CultureInfo.InvariantCulture, $"<h2 style=\"color:{colour}\">{WebUtility.HtmlEncode(Subject)}</h2><table>");
        foreach (var (label, value) in Fields())
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><th style=\"text-align:left;padding-right:1em\">{WebUtility.HtmlEncode(label)}</th><td>{WebUtility.HtmlEncode(value)}</td></tr>");
        }

        html.Append("</table>");
        if (Details.Length > 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<pre>{WebUtility.HtmlEncode(Details)}</pre>");
        }

        return html.Append("</body></html>").ToString();
    }

    private IEnumerable<(string Label, string Value)> Fields()
    {
        yield return ("What", Summary);
        if (State != AlertState.Test)
        {
            yield return ("Tenant", Tenant);
            yield return ("Environment", Environment);
            yield return ("Target", Target);
            yield return ("Since", Since.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        }

        yield return (State == AlertState.Resolved ? "Next" : "Do first", FirstAction);
        yield return ("Incident", IncidentId);
    }
}
