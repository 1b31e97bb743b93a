using System.Security.Cryptography;
using System.Text;

namespace BackupDr.OdooDemo;

internal enum DemoFileKind
{
    Pdf,
    Jpeg,
    Png,
    Xml,
}

/// <summary>One file in the filestore: Odoo names it by the SHA-1 of its content.</summary>
internal sealed record DemoFile(int Index, DemoFileKind Kind, string Sha1, int Size)
{
    public string StoreFname => $"{Sha1[..2]}/{Sha1}";

    public string Mimetype => Kind switch
    {
        DemoFileKind.Pdf => "application/pdf",
        DemoFileKind.Jpeg => "image/jpeg",
        DemoFileKind.Png => "image/png",
        _ => "application/xml",
    };
}

/// <summary>
/// Writes the Odoo filestore layout <c>&lt;root&gt;/&lt;sha1[0:2]&gt;/&lt;sha1&gt;</c>. Contents are deterministic:
/// PDFs and XML are text-like (they compress), JPEG and PNG are pseudo-random bytes (they do not).
/// </summary>
internal static class DemoFilestore
{
    private const long ContentStream = 1;
    private const long DatabaseStream = 2;

    private static readonly string[] Words =
    [
        "invoice", "delivery", "payment", "amount", "total", "due", "customer", "order", "quantity", "unit", "price",
        "VAT", "EUR", "reference", "Brussels", "warehouse", "product", "service", "discount", "terms", "bank", "IBAN",
    ];

    /// <summary>Files written for a scale: one per 40 moves, at least 10.</summary>
    public static int FileCount(int scale) => Math.Max(10, scale / 40);

    /// <summary>Writes every file (in parallel) and returns them in index order. Existing identical files are kept.</summary>
    public static async Task<IReadOnlyList<DemoFile>> WriteAsync(string root, int scale, long seed, CancellationToken cancellationToken)
    {
        var count = FileCount(scale);
        var files = new DemoFile[count];
        Directory.CreateDirectory(root);
        await Parallel.ForEachAsync(
            Enumerable.Range(1, count),
            new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount },
            async (index, ct) =>
            {
                var (kind, content) = Content(seed, index);
                var sha1 = Checksum(content);
                var dir = Path.Combine(root, sha1[..2]);
                Directory.CreateDirectory(dir);
                var path = Path.Combine(dir, sha1);
                if (!File.Exists(path))
                {
                    // Written under a temporary name and renamed: a crash never leaves a file whose name lies.
                    var temp = $"{path}.{index}.tmp";
                    await File.WriteAllBytesAsync(temp, content, ct);
                    File.Move(temp, path, overwrite: true);
                }

                files[index - 1] = new DemoFile(index, kind, sha1, content.Length);
            });
        return files;
    }

    /// <summary>The kind and bytes of file <paramref name="index"/> (1-based).</summary>
    public static (DemoFileKind Kind, byte[] Content) Content(long seed, int index)
    {
        var rng = SplitMix64.For(seed, ContentStream, index);
        var kind = rng.Below(10) switch
        {
            < 5 => DemoFileKind.Pdf,
            < 8 => DemoFileKind.Jpeg,
            8 => DemoFileKind.Png,
            _ => DemoFileKind.Xml,
        };
        // Sizes spread over powers of two: 2 KiB..256 KiB for images, 2..128 KiB for PDFs, 1..64 KiB for XML.
        var unit = kind switch { DemoFileKind.Jpeg or DemoFileKind.Png => 4096, DemoFileKind.Pdf => 2048, _ => 1024 };
        var bucket = unit << rng.Below(6);
        var size = bucket + rng.Below(bucket);
        var content = new byte[size];
        switch (kind)
        {
            case DemoFileKind.Jpeg:
                rng.Fill(content);
                Header(content, [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0x00]);
                content[^2] = 0xFF;
                content[^1] = 0xD9;
                break;
            case DemoFileKind.Png:
                rng.Fill(content);
                Header(content, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
                break;
            default:
                TextLike(content, kind, index, ref rng);
                break;
        }

        return (kind, content);
    }

    /// <summary>The lowercase hex SHA-1 Odoo stores in ir_attachment.checksum and uses as the file name.</summary>
    public static string Checksum(ReadOnlySpan<byte> content)
    {
#pragma warning disable CA5350 // SHA-1 is Odoo's content address for the filestore: a format, not a security choice.
        return Convert.ToHexStringLower(SHA1.HashData(content));
#pragma warning restore CA5350
    }

    /// <summary>Small blobs kept in the database (<c>db_datas</c>), e.g. partner avatars.</summary>
    public static byte[] DatabaseContent(long seed, int index)
    {
        var rng = SplitMix64.For(seed, DatabaseStream, index);
        var content = new byte[256 + rng.Below(1792)];
        rng.Fill(content);
        Header(content, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        return content;
    }

    private static void Header(Span<byte> content, ReadOnlySpan<byte> header) => header[..Math.Min(header.Length, content.Length)].CopyTo(content);

    private static void TextLike(byte[] content, DemoFileKind kind, int index, ref SplitMix64 rng)
    {
        var text = new StringBuilder(content.Length + 128);
        text.Append(kind == DemoFileKind.Pdf
            ? $"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n% demo document {index}\n"
            : $"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Invoice id=\"{index}\">\n");
        var line = 0;
        while (text.Length < content.Length)
        {
            line++;
            var words = $"{Words[rng.Below(Words.Length)]} {Words[rng.Below(Words.Length)]} {Words[rng.Below(Words.Length)]}";
            var amount = $"{rng.Below(100000)}.{rng.Below(100):D2}";
            text.Append(kind == DemoFileKind.Pdf
                ? $"BT /F1 10 Tf 72 {800 - (line % 60 * 12)} Td (Line {line}: {words} {amount} EUR) Tj ET\n"
                : $"  <Line n=\"{line}\"><Note>{words}</Note><Amount currency=\"EUR\">{amount}</Amount></Line>\n");
        }

        var bytes = Encoding.ASCII.GetBytes(text.ToString());
        bytes.AsSpan(0, content.Length).CopyTo(content);
        var tail = Encoding.ASCII.GetBytes(kind == DemoFileKind.Pdf ? "\n%%EOF\n" : "\n</Invoice>\n");
        if (content.Length > tail.Length * 4)
        {
            tail.CopyTo(content, content.Length - tail.Length);
        }
    }
}
