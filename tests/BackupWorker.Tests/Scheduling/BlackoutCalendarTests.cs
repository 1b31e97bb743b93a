using BackupDr.BackupWorker.Scheduling;
using Microsoft.Extensions.Time.Testing;
using Quartz;
using Quartz.Extensibility;
using Quartz.Impl;
using Quartz.Serialization.SystemTextJson;

namespace BackupDr.BackupWorker.Tests.Scheduling;

public sealed class BlackoutCalendarTests
{
    private static readonly BlackoutWindow MonthEnd = new("month-end", "", 2);
    private static readonly BlackoutWindow Nights = new("nights", "* * 0-5 * * ?", 0);

    [Theory]
    [InlineData("2026-11-26", false)] // Thursday
    [InlineData("2026-11-27", true)] // Friday: second-last business day of November 2026
    [InlineData("2026-11-28", false)] // Saturday
    [InlineData("2026-11-29", false)] // Sunday
    [InlineData("2026-11-30", true)] // Monday: last business day
    [InlineData("2026-01-29", true)] // Thursday, 30 Jan is Friday, 31 Jan Saturday
    [InlineData("2026-01-30", true)]
    [InlineData("2026-01-28", false)]
    public void IsLastBusinessDay_TwoDays_WeekendsDoNotCount(string date, bool expected)
    {
        BlackoutCalendar.IsLastBusinessDay(DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture), 2).ShouldBe(expected);
    }

    [Fact]
    public void IsTimeIncluded_MonthEndInBrussels_ExcludesWholeLocalDays()
    {
        var brussels = TimeZoneInfo.FindSystemTimeZoneById("Europe/Brussels");
        var calendar = new BlackoutCalendar([MonthEnd], brussels);

        // 23:30 UTC on Thursday 26 Nov is 00:30 on Friday 27 Nov in Brussels: inside the window.
        calendar.IsTimeIncluded(new DateTimeOffset(2026, 11, 26, 23, 30, 0, TimeSpan.Zero)).ShouldBeFalse();
        calendar.IsTimeIncluded(new DateTimeOffset(2026, 11, 26, 22, 30, 0, TimeSpan.Zero)).ShouldBeTrue();
        calendar.IsTimeIncluded(new DateTimeOffset(2026, 11, 30, 22, 59, 0, TimeSpan.Zero)).ShouldBeFalse();
        calendar.IsTimeIncluded(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero)).ShouldBeTrue("1 December in Brussels");
    }

    [Fact]
    public void GetNextIncludedTimeUtc_InsideOverlappingWindows_LeavesAllOfThem()
    {
        var calendar = new BlackoutCalendar([MonthEnd, Nights], TimeZoneInfo.Utc);

        // Friday 27 Nov 10:00 is month-end; Saturday 28 Nov 00:00-05:59 is night: the first free instant is Saturday 06:00.
        calendar.GetNextIncludedTimeUtc(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero))
            .ShouldBe(new DateTimeOffset(2026, 11, 28, 6, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public void CronTriggerWithCalendar_DrillDueOnMonthEnd_SkipsToTheNextSlotOutsideIt()
    {
        var calendar = new BlackoutCalendar([MonthEnd], TimeZoneInfo.Utc);
        var start = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

        // The trigger's clock is the test's: Quartz moves a start in the past up to its now (the real clock passed this November).
        var trigger = (IOperableTrigger)TriggerBuilder.Create(new FakeTimeProvider(start))
            .WithIdentity("drill.acme-prod", "backupdr")
            .WithSchedule(CronScheduleBuilder.Create("0 30 3 * * ?").InTimeZone(TimeZoneInfo.Utc))
            .StartAt(start)
            .Build();

        trigger.ComputeFirstFireTimeUtc(calendar).ShouldBe(new DateTimeOffset(2026, 11, 28, 3, 30, 0, TimeSpan.Zero));
        trigger.Triggered(calendar);
        trigger.NextFireTimeUtc.ShouldBe(new DateTimeOffset(2026, 11, 29, 3, 30, 0, TimeSpan.Zero));
        trigger.Triggered(calendar);
        trigger.NextFireTimeUtc.ShouldBe(new DateTimeOffset(2026, 12, 1, 3, 30, 0, TimeSpan.Zero), "Monday 30 Nov is the last business day");
    }

    [Fact]
    public void Serializer_RoundTrip_KeepsWindowsAndZone()
    {
        var brussels = TimeZoneInfo.FindSystemTimeZoneById("Europe/Brussels");
        var registry = new SystemTextJsonSerializerRegistry();
        registry.AddCalendarSerializer(new BlackoutCalendarSerializer());
        var serializer = new SystemTextJsonObjectSerializer(registry);

        var bytes = serializer.Serialize<ICalendar>(new BlackoutCalendar([MonthEnd, Nights], brussels));
        var back = (BlackoutCalendar)serializer.Deserialize<ICalendar>(bytes)!;

        back.Windows.ShouldBe([MonthEnd, Nights]);
        back.TimeZone.Id.ShouldBe(brussels.Id);
    }
}
