using System.Globalization;

namespace BackupDr.Reporting.Reports;

/// <summary>How figures read in the HTML and the PDF, the same in both.</summary>
internal static class ReportFormat
{
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 40 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 40):0.00} TiB"),
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
    };

    public static string Money(decimal amount, string currency) => string.Create(CultureInfo.InvariantCulture, $"{amount:0.00} {currency}");

    /// <summary>"1 h 12 min / 1 h 0 min", or "- / 1 h 0 min" when nothing was achieved.</summary>
    public static string Against(double? achieved, double target) =>
        $"{(achieved is { } a ? ReportBuilder.Duration(a) : "-")} / {ReportBuilder.Duration(target)}";
}
