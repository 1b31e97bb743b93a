using SkiaSharp;

namespace BackupDr.Reporting.Reports;

/// <summary>
/// Flows text, tables and charts down A4 pages of an <see cref="SKDocument"/>, starting a new page when the next
/// element does not fit, and numbers the pages. Tables repeat their header on each page they span.
/// </summary>
internal sealed class PdfPageWriter : IDisposable
{
    public static readonly SKColor Muted = new(0x65, 0x6d, 0x76);
    private const float PageWidth = 595;
    private const float PageHeight = 842;
    private const float Margin = 40;

    private readonly SKDocument _document;
    private readonly SKTypeface _regular;
    private readonly SKTypeface _bold;
    private readonly string _footer;
    private readonly SKPaint _paint = new() { IsAntialias = true };
    private SKCanvas? _canvas;
    private float _y;
    private int _pages;

    public PdfPageWriter(SKDocument document, SKTypeface regular, SKTypeface bold, string footer)
    {
        _document = document;
        _regular = regular;
        _bold = bold;
        _footer = footer;
        NewPage();
    }

    private SKCanvas Canvas => _canvas ?? throw new InvalidOperationException("no page is open");

    public void NewPage()
    {
        if (_canvas is not null && _y <= Margin + 1)
        {
            return; // already on a fresh page
        }

        EndPage();
        _canvas = _document.BeginPage(PageWidth, PageHeight);
        _pages++;
        _y = Margin;
        using var font = new SKFont(_regular, 7);
        _paint.Color = Muted;
        Canvas.DrawText($"{_footer} - page {_pages}", Margin, PageHeight - 20, SKTextAlign.Left, font, _paint);
    }

    public void EnsureSpace(float height)
    {
        if (_y + height > PageHeight - Margin)
        {
            NewPage();
        }
    }

    public void Space(float height) => _y += height;

    public void Heading(string text, float size) => Text(text, size, SKColors.Black, isBold: true, spaceAfter: size * 0.4f);

    public void Text(string text, float size, SKColor color, bool isBold = false, float spaceAfter = 3)
    {
        using var font = new SKFont(isBold ? _bold : _regular, size);
        _paint.Color = color;
        foreach (var line in Wrap(text, font, PageWidth - (2 * Margin)))
        {
            EnsureSpace(size * 1.35f);
            _y += size;
            Canvas.DrawText(line, Margin, _y, SKTextAlign.Left, font, _paint);
            _y += size * 0.35f;
        }

        _y += spaceAfter;
    }

    public void Table(IReadOnlyList<float> widths, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows, float fontSize = 8)
    {
        using var font = new SKFont(_regular, fontSize);
        using var headerFont = new SKFont(_bold, fontSize);
        var lineHeight = fontSize * 1.3f;
        var headerCells = WrapCells(widths, header, headerFont);
        var shade = new SKColor(0xf6, 0xf8, 0xfa);
        EnsureSpace(lineHeight * 3);
        DrawRow(widths, headerCells, fontSize, headerFont, lineHeight, shade);
        foreach (var row in rows)
        {
            var cells = WrapCells(widths, row, font);
            if (_y + RowHeight(cells, lineHeight) > PageHeight - Margin)
            {
                NewPage();
                DrawRow(widths, headerCells, fontSize, headerFont, lineHeight, shade);
            }

            DrawRow(widths, cells, fontSize, font, lineHeight, null);
        }

        _y += 6;
    }

    /// <summary>
    /// A table of one-line rows without wrapping, for long listings (the evidence index): the caller picks column
    /// widths its values fit in. Thousands of rows render in a fraction of what wrapped rows cost.
    /// </summary>
    public void Listing(IReadOnlyList<float> widths, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, float fontSize)
    {
        using var font = new SKFont(_regular, fontSize);
        using var headerFont = new SKFont(_bold, fontSize);
        var lineHeight = fontSize * 1.45f;
        var page = new SKTextBlobBuilder();

        // One text blob per page: a draw call per cell would cost more than everything else in the report.
        void Line(IReadOnlyList<string> cells, SKFont cellFont)
        {
            _y += lineHeight;
            var x = Margin;
            for (var i = 0; i < cells.Count; i++)
            {
                page.AddRun(cellFont.GetGlyphs(cells[i]), cellFont, new SKPoint(x, _y - ((lineHeight - fontSize) / 2)));
                x += widths[i];
            }
        }

        void Flush()
        {
            using (var blob = page.Build())
            {
                if (blob is not null)
                {
                    _paint.Color = SKColors.Black;
                    Canvas.DrawText(blob, 0, 0, _paint);
                }
            }

            page.Dispose();
            page = new SKTextBlobBuilder();
        }

        EnsureSpace(lineHeight * 3);
        Line(header, headerFont);
        foreach (var row in rows)
        {
            if (_y + lineHeight > PageHeight - Margin)
            {
                Flush();
                NewPage();
                Line(header, headerFont);
            }

            Line(row, font);
        }

        Flush();
        page.Dispose();
        _y += 6;
    }

    public void Charts(params (string Title, IReadOnlyList<(string Month, double? Value)> Series, double Target)[] charts)
    {
        EnsureSpace(TrendChart.Height + 4);
        var x = Margin;
        foreach (var (title, series, target) in charts)
        {
            Chart(x, _y, title, series, target);
            x += TrendChart.Width * 0.75f + 10;
        }

        _y += (TrendChart.Height * 0.75f) + 6;
    }

    /// <summary>Closes the last page and the document; returns the page count.</summary>
    public int Finish()
    {
        EndPage();
        _document.Close();
        return _pages;
    }

    public void Dispose() => _paint.Dispose();

    private void Chart(float originX, float originY, string title, IReadOnlyList<(string Month, double? Value)> series, double target)
    {
        var (max, points, targetY) = TrendChart.Layout(series, target);
        Canvas.Save();
        Canvas.Translate(originX, originY);
        Canvas.Scale(0.75f);
        using var small = new SKFont(_regular, 9);
        using var titleFont = new SKFont(_bold, 11);
        using var stroke = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 1, Color = new SKColor(0x8c, 0x95, 0x9f) };
        _paint.Color = SKColors.Black;
        Canvas.DrawText(title, 46, 13, SKTextAlign.Left, titleFont, _paint);
        Canvas.DrawLine(46, TrendChart.Height - 22, TrendChart.Width - 8, TrendChart.Height - 22, stroke);
        Canvas.DrawLine(46, 20, 46, TrendChart.Height - 22, stroke);
        Canvas.DrawText(TrendChart.Short(max), 42, 24, SKTextAlign.Right, small, _paint);
        using var dashed = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 1, Color = new SKColor(0xcf, 0x22, 0x2e), PathEffect = SKPathEffect.CreateDash([4, 3], 0) };
        Canvas.DrawLine(46, targetY, TrendChart.Width - 8, targetY, dashed);
        _paint.Color = new SKColor(0xcf, 0x22, 0x2e);
        Canvas.DrawText(TrendChart.Short(target), 42, targetY + 3, SKTextAlign.Right, small, _paint);
        using var line = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 2, Color = new SKColor(0x09, 0x69, 0xda) };
        foreach (var segment in TrendChart.Segments(points))
        {
            for (var i = 1; i < segment.Count; i++)
            {
                Canvas.DrawLine(segment[i - 1].X, segment[i - 1].Y, segment[i].X, segment[i].Y, line);
            }
        }

        _paint.Color = new SKColor(0x09, 0x69, 0xda);
        foreach (var (x, y) in points)
        {
            if (y is { } value)
            {
                Canvas.DrawCircle(x, value, 2.5f, _paint);
            }
        }

        _paint.Color = SKColors.Black;
        for (var i = 0; i < series.Count; i += 2)
        {
            Canvas.DrawText(series[i].Month[2..], points[i].X, TrendChart.Height - 8, SKTextAlign.Center, small, _paint);
        }

        Canvas.Restore();
    }

    private static List<List<string>> WrapCells(IReadOnlyList<float> widths, IReadOnlyList<string> cells, SKFont font) =>
        [.. cells.Select((c, i) => Wrap(c, font, widths[i] - 4))];

    private static float RowHeight(List<List<string>> wrapped, float lineHeight) =>
        (wrapped.Select(c => c.Count).DefaultIfEmpty(1).Max() * lineHeight) + 3;

    private void DrawRow(IReadOnlyList<float> widths, List<List<string>> wrapped, float fontSize, SKFont font, float lineHeight, SKColor? background)
    {
        var height = RowHeight(wrapped, lineHeight);
        if (background is { } color)
        {
            _paint.Color = color;
            Canvas.DrawRect(Margin, _y, widths.Sum(), height, _paint);
        }

        _paint.Color = SKColors.Black;
        var x = Margin;
        for (var i = 0; i < wrapped.Count; i++)
        {
            var lineY = _y + fontSize + 1;
            foreach (var line in wrapped[i])
            {
                Canvas.DrawText(line, x + 2, lineY, SKTextAlign.Left, font, _paint);
                lineY += lineHeight;
            }

            x += widths[i];
        }

        _y += height;
        using var rule = new SKPaint { Color = new SKColor(0xd0, 0xd7, 0xde), StrokeWidth = 0.5f };
        Canvas.DrawLine(Margin, _y, Margin + widths.Sum(), _y, rule);
    }

    /// <summary>Words onto lines no wider than <paramref name="width"/>; a word longer than a line is cut.</summary>
    private static List<string> Wrap(string text, SKFont font, float width)
    {
        var lines = new List<string>();
        var current = "";
        foreach (var word in text.Split(' '))
        {
            var candidate = current.Length == 0 ? word : current + " " + word;
            if (font.MeasureText(candidate) <= width)
            {
                current = candidate;
                continue;
            }

            if (current.Length > 0)
            {
                lines.Add(current);
            }

            current = word;
            while (current.Length > 1 && font.MeasureText(current) > width)
            {
                // The longest prefix that fits, by bisection (a SHA-256 is one 64-character word).
                var (fits, tooLong) = (1, current.Length);
                while (tooLong - fits > 1)
                {
                    var middle = (fits + tooLong) / 2;
                    (fits, tooLong) = font.MeasureText(current.AsSpan(0, middle)) <= width ? (middle, tooLong) : (fits, middle);
                }

                lines.Add(current[..fits]);
                current = current[fits..];
            }
        }

        lines.Add(current);
        return lines;
    }

    private void EndPage()
    {
        if (_canvas is not null)
        {
            _document.EndPage();
            _canvas = null;
        }
    }
}
