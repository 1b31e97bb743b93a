using System.Text;
using BackupDr.Reporting.Reports;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Storage;
using BackupDr.TestSupport;
using Microsoft.Extensions.Configuration;

namespace BackupDr.Reporting.Tests.Reports;

/// <summary>
/// The report's figures against figures computed directly from the generated fleet's records, read back through the
/// repository formats (sealed manifests and drill records, incidents, canary).
/// </summary>
public sealed class ReportBuilderTests : IAsyncLifetime, IDisposable
{
    private static readonly DateOnly Month = new(2026, 10, 1);
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset End = Start.AddMonths(1);

    private readonly InMemoryObjectStore _store = new();
    private readonly MasterKey _masterKey = MasterKey.CreateRandom();
    private IReadOnlyList<FleetTarget> _fleet = [];
    private ReportInputs _inputs = null!;
    private MonthlyReport _report = null!;

    public async ValueTask InitializeAsync()
    {
        _fleet = await SyntheticFleet.WriteAsync(_store, _masterKey, 40, Month, 12, TestContext.Current.CancellationToken);
        _inputs = await ReportSource.LoadAsync(_store, _masterKey, [.. _fleet.Select(t => t.Name)], [], Start, End, TestContext.Current.CancellationToken);
        _report = ReportBuilder.Build(Options(_fleet), _inputs, Month, Now, "memory://fleet");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public void Dispose() => _masterKey.Dispose();

    [Fact]
    public void Build_EveryEnvironment_BackupAndDrillCountsEqualTheRecords()
    {
        var sections = _report.Tenants.SelectMany(t => t.Environments).ToDictionary(e => e.Target);
        sections.Count.ShouldBe(40);
        foreach (var target in _fleet)
        {
            var section = sections[target.Name];
            section.BackupsScheduled.ShouldBe(31);
            section.BackupsTaken.ShouldBe(target.RecoveryPoints.Count(p => p >= Start && p < End));
            var drills = target.Drills.Where(d => d.StartedAt >= Start && d.StartedAt < End).ToList();
            section.DrillsRun.ShouldBe(drills.Count);
            section.DrillsPassed.ShouldBe(drills.Count(d => d.Outcome == "Passed"));
            section.WorstRtoSeconds.ShouldBe(drills.Where(d => d.Outcome != "Failed").Select(d => (double?)d.RtoSeconds).Max());
            section.Verdict.ShouldBe(
                drills.All(d => d.Outcome == "Failed") ? EnvironmentVerdict.NotProven
                : drills.Any(d => d.Outcome == "PartiallyFailed") || section.WorstGapSeconds > section.RpoTargetSeconds ? EnvironmentVerdict.TargetMissed
                : EnvironmentVerdict.Proven,
                target.Name);
        }
    }

    [Fact]
    public void Build_TargetThatMissedTwoBackups_ShowsTheThreeDayGapAndItsIncident()
    {
        var section = _report.Tenants.SelectMany(t => t.Environments).Single(e => e.Target == "t0003-prod");

        section.BackupsTaken.ShouldBe(29);
        section.WorstGapSeconds.ShouldBe(TimeSpan.FromDays(3).TotalSeconds);
        section.WorstGapStart.ShouldBe(new DateTimeOffset(2026, 10, 9, 1, 0, 3, TimeSpan.Zero));
        section.Findings.ShouldContain(f => f.StartsWith("Longest time without a good backup: 3 d 0 h from 2026-10-09 01:00 UTC", StringComparison.Ordinal));
        section.Findings.ShouldContain("Took 29 of 31 scheduled backups.");
        var incident = section.Incidents.ShouldHaveSingleItem();
        incident.Rule.ShouldBe("BackupFailed");
        incident.HoursToResolve.ShouldBe(48.1);
    }

    [Fact]
    public void Build_PitrTargetWithAnArchiveHole_WorstGapIsTheHoleAndTheMissedDumpsAreCovered()
    {
        const string Target = "t0003-prod";
        var holeStart = new DateTimeOffset(2026, 10, 6, 2, 0, 0, TimeSpan.Zero);
        var holeEnd = holeStart.AddHours(7);
        _fleet.Single(t => t.Name == Target).RecoveryPoints.ShouldNotContain(p => p > holeStart && p < holeEnd);
        var inputs = _inputs with
        {
            PitrCoverage = new Dictionary<string, IReadOnlyList<Repository.Wal.RestorableSpan>>
            {
                [Target] = [new(Start.AddDays(-3), holeStart), new(holeEnd, End.AddDays(1))],
            },
        };

        var section = ReportBuilder.Build(Options(_fleet), inputs, Month, Now, "memory://fleet").Tenants.SelectMany(t => t.Environments).Single(e => e.Target == Target);

        section.WorstGapSeconds.ShouldBe(TimeSpan.FromHours(7).TotalSeconds);
        section.WorstGapStart.ShouldBe(holeStart);
        section.Findings.ShouldNotContain(f => f.StartsWith("Longest time without", StringComparison.Ordinal), "the three days without a dump are covered by the WAL archive");
    }

    [Fact]
    public void Build_Summary_CountsEqualTheSections()
    {
        var sections = _report.Tenants.SelectMany(t => t.Environments).ToList();
        var s = _report.Summary;

        s.Environments.ShouldBe(40);
        s.Proven.ShouldBe(sections.Count(e => e.Verdict != EnvironmentVerdict.NotProven));
        s.NotProven.ShouldBe(_fleet.Count(t => t.Drills.Where(d => d.StartedAt >= Start && d.StartedAt < End).All(d => d.Outcome == "Failed")));
        s.BackupsTaken.ShouldBe(sections.Sum(e => e.BackupsTaken));
        s.DrillsRun.ShouldBe(sections.Sum(e => e.DrillsRun));
        s.Headline.ShouldStartWith($"{s.Proven} of 40 environments proven recoverable this month");
        s.Lines.Count.ShouldBe(sections.Count(e => e.Findings.Count > 0));
        _report.Alerts.Statement.ShouldBe("Alerts proven to reach on-call on 2026-10-03.");
        _report.Evidence.Count.ShouldBe(sections.Sum(e => e.BackupsTaken) + sections.Sum(e => e.DrillsRun));
        _report.Evidence.ShouldAllBe(e => e.Sha256.Length == 64);
    }

    [Fact]
    public void Build_Trend_HasTwelveMonthsEndingWithTheReportMonth()
    {
        var trend = _report.Tenants[0].Environments[0].Trend;

        trend.Select(t => t.Month).ShouldBe(Enumerable.Range(0, 12).Select(i => Month.AddMonths(i - 11).ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture)));
        trend.ShouldAllBe(t => t.RtoSeconds != null);
    }

    [Fact]
    public void Renderers_SameReport_HtmlIsSelfContainedAndPdfHasPages()
    {
        var html = HtmlReportRenderer.Render(_report);
        using var pdf = new MemoryStream();
        var pages = PdfReportRenderer.Render(_report, pdf);

        html.ShouldContain(System.Net.WebUtility.HtmlEncode(_report.Summary.Headline));
        html.ShouldNotContain("<script", Case.Insensitive);
        html.ShouldNotContain(" src=", Case.Insensitive);
        html.ShouldNotContain(" href=", Case.Insensitive);
        html.Split("<svg ").Length.ShouldBe(1 + (2 * 40));
        Encoding.ASCII.GetString(pdf.ToArray(), 0, 5).ShouldBe("%PDF-");
        pages.ShouldBeGreaterThan(1 + _report.Tenants.Count);
    }

    [Fact]
    public void ScheduledBetween_HourlyAndWeekly_CountsFireTimesInsideThePeriod()
    {
        ReportBuilder.ScheduledBetween("0 0 * * * ?", Start, End).ShouldBe(31 * 24);
        ReportBuilder.ScheduledBetween("0 30 3 ? * SUN", Start, End).ShouldBe(4);
    }

    private static BackupDrOptions Options(IReadOnlyList<FleetTarget> fleet)
    {
        var json = SyntheticFleet.Configuration(fleet, """{ "Kind": "Local", "Path": "/tmp/fleet" }""", "/tmp/sandboxes");
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var (options, errors) = BackupDrConfiguration.TryLoad(configuration);
        errors.ShouldBeEmpty();
        return options!;
    }
}
