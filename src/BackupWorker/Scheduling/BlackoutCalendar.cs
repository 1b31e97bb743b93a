using System.Text.Json;
using BackupDr.Repository.Configuration;
using Quartz;
using Quartz.Impl.Calendar;
using Quartz.Serialization.SystemTextJson.Calendars;

namespace BackupDr.BackupWorker.Scheduling;

/// <summary>One named blackout window: either cron-matched seconds or the last N business days of each month.</summary>
internal sealed record BlackoutWindow(string Name, string Cron, int LastBusinessDaysOfMonth)
{
    public static BlackoutWindow From(string name, BlackoutOptions options) => new(name, options.Cron, options.LastBusinessDaysOfMonth);
}

/// <summary>
/// A Quartz calendar that excludes the union of some blackout windows, in one time zone. Drill and prune triggers of
/// the tiers and targets naming those windows carry it, so they do not fire inside a window (a firing that falls in
/// one is skipped to the trigger's next time outside it). "The last two business days" cannot be written as one cron
/// expression (<c>LW</c> names only the last), hence a calendar of our own; it is persisted in the clustered store
/// through <see cref="BlackoutCalendarSerializer"/>.
/// </summary>
internal sealed class BlackoutCalendar : BaseCalendar
{
    private const int MaxSteps = 10_000;

    private List<BlackoutWindow> _windows = [];

    public BlackoutCalendar()
    {
    }

    public BlackoutCalendar(IEnumerable<BlackoutWindow> windows, TimeZoneInfo zone)
        : base(zone)
    {
        _windows = windows.ToList();
        Description = "blackout: " + string.Join(", ", _windows.Select(w => w.Name));
    }

    public IReadOnlyList<BlackoutWindow> Windows
    {
        get => _windows;
        internal set => _windows = value.ToList();
    }

    public override bool IsTimeIncluded(DateTimeOffset timeStampUtc) =>
        base.IsTimeIncluded(timeStampUtc) && !_windows.Any(w => Covers(w, timeStampUtc));

    public override DateTimeOffset GetNextIncludedTimeUtc(DateTimeOffset timeUtc)
    {
        var next = timeUtc.AddMilliseconds(1);
        for (var step = 0; step < MaxSteps; step++)
        {
            if (IsTimeIncluded(next))
            {
                return next;
            }

            var exit = next;
            foreach (var window in _windows.Where(w => Covers(w, next)))
            {
                var leaves = LeavesAt(window, next);
                exit = leaves > exit ? leaves : exit;
            }

            next = exit > next ? exit : base.GetNextIncludedTimeUtc(next);
        }

        throw new InvalidOperationException($"{Description} leaves no included time within {MaxSteps} windows after {timeUtc:O}");
    }

    public override ICalendar Clone()
    {
        var clone = new BlackoutCalendar(_windows, TimeZone);
        CloneFields(clone);
        return clone;
    }

    /// <summary>True when <paramref name="localDate"/> is one of the last <paramref name="count"/> weekdays of its month.</summary>
    public static bool IsLastBusinessDay(DateOnly localDate, int count)
    {
        if (localDate.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
        {
            return false;
        }

        var later = 0;
        for (var day = localDate.AddDays(1); day.Month == localDate.Month; day = day.AddDays(1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                later++;
            }
        }

        return later < count;
    }

    private bool Covers(BlackoutWindow window, DateTimeOffset utc) => window.Cron.Length > 0
        ? Cron(window).IsSatisfiedBy(utc)
        : IsLastBusinessDay(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(utc, TimeZone).DateTime), window.LastBusinessDaysOfMonth);

    /// <summary>The first instant after <paramref name="utc"/> that <paramref name="window"/> does not cover.</summary>
    private DateTimeOffset LeavesAt(BlackoutWindow window, DateTimeOffset utc)
    {
        if (window.Cron.Length > 0)
        {
            return Cron(window).GetNextInvalidTimeAfter(utc) ?? DateTimeOffset.MaxValue;
        }

        var local = TimeZoneInfo.ConvertTime(utc, TimeZone);
        var midnight = new DateTimeOffset(local.Date.AddDays(1), TimeZone.GetUtcOffset(local.Date.AddDays(1)));
        return midnight.ToUniversalTime();
    }

    private CronExpression Cron(BlackoutWindow window) => new(window.Cron, TimeZone);
}

/// <summary>Stores a <see cref="BlackoutCalendar"/> in Quartz's clustered job store (System.Text.Json).</summary>
internal sealed class BlackoutCalendarSerializer : CalendarSerializer<BlackoutCalendar>
{
    public override string CalendarTypeName => "BackupDrBlackoutCalendar";

    protected override BlackoutCalendar Create(JsonElement jsonElement, JsonSerializerOptions options) => new();

    protected override void SerializeFields(Utf8JsonWriter writer, BlackoutCalendar calendar, JsonSerializerOptions options)
    {
        writer.WritePropertyName("Windows");
        JsonSerializer.Serialize(writer, calendar.Windows, options);
    }

    protected override void DeserializeFields(BlackoutCalendar calendar, JsonElement jsonElement, JsonSerializerOptions options)
    {
        calendar.Windows = jsonElement.GetProperty("Windows").Deserialize<List<BlackoutWindow>>(options) ?? [];
    }
}
