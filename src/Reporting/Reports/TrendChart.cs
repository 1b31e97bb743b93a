using System.Globalization;
using System.Net;
using System.Text;

namespace BackupDr.Reporting.Reports;

/// <summary>
/// A 12-month trend as a small inline SVG line chart: the achieved figure per month (gaps where no drill ran) and the
/// tier's target as a dashed red line. The PDF draws the same geometry (<see cref="Layout"/>) with SkiaSharp.
/// </summary>
internal static class TrendChart
{
    public const float Width = 330;
    public const float Height = 130;
    private const float Left = 46;
    private const float Right = 8;
    private const float Top = 20;
    private const float Bottom = 22;

    /// <summary>Chart geometry: the y-axis maximum, each point's position (null where no value), the target line's y.</summary>
    public static (double Max, IReadOnlyList<(float X, float? Y)> Points, float TargetY) Layout(IReadOnlyList<(string Month, double? Value)> series, double target)
    {
        ArgumentNullException.ThrowIfNull(series);
        var max = Math.Max(target, series.Select(p => p.Value ?? 0).DefaultIfEmpty(0).Max()) * 1.15;
        max = max <= 0 ? 1 : max;
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        float Y(double v) => (float)(Top + plotHeight - (v / max * plotHeight));
        var step = series.Count > 1 ? plotWidth / (series.Count - 1) : 0;
        var points = series.Select((p, i) => (Left + (i * step), p.Value is { } v ? Y(v) : (float?)null)).ToList();
        return (max, points, Y(target));
    }

    public static string Svg(string title, IReadOnlyList<(string Month, double? Value)> series, double target)
    {
        var (max, points, targetY) = Layout(series, target);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{WebUtility.HtmlEncode(title)}\">")
            .Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"13\" font-size=\"11\" font-weight=\"bold\">{WebUtility.HtmlEncode(title)}</text>")
            .Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"#8c959f\"/>")
            .Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"#8c959f\"/>")
            .Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 4}\" y=\"{Top + 4}\" font-size=\"9\" text-anchor=\"end\">{WebUtility.HtmlEncode(Short(max))}</text>")
            .Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{targetY:0.0}\" x2=\"{Width - Right}\" y2=\"{targetY:0.0}\" stroke=\"#cf222e\" stroke-dasharray=\"4 3\"/>")
            .Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 4}\" y=\"{targetY + 3:0.0}\" font-size=\"9\" text-anchor=\"end\" fill=\"#cf222e\">{WebUtility.HtmlEncode(Short(target))}</text>");
        foreach (var segment in Segments(points))
        {
            svg.Append("<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" points=\"")
                .AppendJoin(' ', segment.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X:0.0},{p.Y:0.0}")))
                .Append("\"/>");
        }

        foreach (var (x, y) in points)
        {
            if (y is { } value)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x:0.0}\" cy=\"{value:0.0}\" r=\"2.5\" fill=\"#0969da\"/>");
            }
        }

        for (var i = 0; i < series.Count; i += 2)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{points[i].X:0.0}\" y=\"{Height - 8}\" font-size=\"9\" text-anchor=\"middle\">{series[i].Month[2..]}</text>");
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>Runs of consecutive months that have a value (a line never bridges a month without drills).</summary>
    public static IEnumerable<List<(float X, float Y)>> Segments(IReadOnlyList<(float X, float? Y)> points)
    {
        var run = new List<(float X, float Y)>();
        foreach (var (x, y) in points)
        {
            if (y is { } value)
            {
                run.Add((x, value));
                continue;
            }

            if (run.Count > 0)
            {
                yield return run;
                run = [];
            }
        }

        if (run.Count > 0)
        {
            yield return run;
        }
    }

    /// <summary>An axis label: "45s", "12m", "3.5h", "2d".</summary>
    public static string Short(double seconds) => seconds switch
    {
        >= 172800 => string.Create(CultureInfo.InvariantCulture, $"{seconds / 86400:0.#}d"),
        >= 3600 => string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:0.#}h"),
        >= 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:0.#}m"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{seconds:0}s"),
    };
}
