using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace BackupDr.OdooDemo;

/// <summary>
/// Loads ir_attachment with binary COPY: one row per filestore file, ~5% more rows that reuse a stored file
/// (Odoo deduplicates by checksum), a few attachments kept in <c>db_datas</c>, and a few URL attachments.
/// </summary>
internal static class DemoAttachments
{
    private const long RowStream = 3;
    private static readonly DateTime Epoch = new(2021, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);

    public static int SharedRowCount(int fileCount) => Math.Max(1, fileCount / 20);

    public static int DatabaseRowCount(int scale) => Math.Max(2, scale / 1000);

    public static int UrlRowCount(int scale) => Math.Max(2, scale / 4000);

    public static async Task<long> CopyAsync(NpgsqlConnection connection, IReadOnlyList<DemoFile> files, int scale, long seed, CancellationToken cancellationToken)
    {
        var stored = files.Count + SharedRowCount(files.Count);
        var inDatabase = DatabaseRowCount(scale);
        var urls = UrlRowCount(scale);
        var total = stored + inDatabase + urls;
        var contacts = DemoData.ContactCount(scale);
        await using var writer = await connection.BeginBinaryImportAsync(
            "COPY ir_attachment (id, name, res_model, res_field, res_id, company_id, type, url, public, access_token, db_datas, "
            + "store_fname, file_size, checksum, mimetype, index_content, create_uid, write_uid, create_date, write_date) FROM STDIN (FORMAT BINARY)",
            cancellationToken);
        for (var id = 1; id <= total; id++)
        {
            var rng = SplitMix64.For(seed, RowStream, id);
            var when = Epoch.AddSeconds((long)id * 1460 * 86400 / total);
            await writer.StartRowAsync(cancellationToken);
            await writer.WriteAsync(id, NpgsqlDbType.Integer, cancellationToken);
            if (id <= stored)
            {
                var file = id <= files.Count ? files[id - 1] : files[rng.Below(files.Count)];
                var move = 1 + rng.Below(scale);
                var (name, model, resId) = file.Kind switch
                {
                    DemoFileKind.Pdf => (Invariant($"INV_{move:D6}.pdf"), "account.move", move),
                    DemoFileKind.Jpeg => (Invariant($"scan_{id}.jpg"), "account.move", move),
                    DemoFileKind.Png => (Invariant($"logo_{id}.png"), "res.partner", 5 + rng.Below(contacts)),
                    _ => (Invariant($"einvoice_{move:D6}.xml"), "account.move", move),
                };
                await WriteRowAsync(writer, name, model, null, resId, "binary", null, false,
                    model == "account.move" ? Invariant($"{rng.Next():x16}{rng.Next():x16}") : null,
                    null, file.StoreFname, file.Size, file.Sha1, file.Mimetype,
                    file.Kind == DemoFileKind.Pdf ? Invariant($"Invoice {move}") : null, when, cancellationToken);
            }
            else if (id <= stored + inDatabase)
            {
                var content = DemoFilestore.DatabaseContent(seed, id);
                await WriteRowAsync(writer, "image_128", "res.partner", "image_128", 5 + rng.Below(contacts), "binary", null, false, null,
                    content, null, content.Length, DemoFilestore.Checksum(content), "image/png", null, when, cancellationToken);
            }
            else
            {
                var url = Invariant($"/web/assets/{id}/web.assets_frontend.min.js");
                await WriteRowAsync(writer, url, "ir.ui.view", null, id, "url", url, true, null, null, null, null, null,
                    "application/javascript", null, when, cancellationToken);
            }
        }

        await writer.CompleteAsync(cancellationToken);
        return total;
    }

    private static async Task WriteRowAsync(
        NpgsqlBinaryImporter writer, string name, string model, string? field, int resId, string type, string? url, bool isPublic,
        string? accessToken, byte[]? data, string? storeFname, int? size, string? checksum, string mimetype, string? indexContent,
        DateTime when, CancellationToken cancellationToken)
    {
        await writer.WriteAsync(name, NpgsqlDbType.Varchar, cancellationToken);
        await writer.WriteAsync(model, NpgsqlDbType.Varchar, cancellationToken);
        await WriteNullableAsync(writer, field, NpgsqlDbType.Varchar, cancellationToken);
        await writer.WriteAsync(resId, NpgsqlDbType.Integer, cancellationToken);
        await writer.WriteAsync(1, NpgsqlDbType.Integer, cancellationToken);
        await writer.WriteAsync(type, NpgsqlDbType.Varchar, cancellationToken);
        await WriteNullableAsync(writer, url, NpgsqlDbType.Varchar, cancellationToken);
        await writer.WriteAsync(isPublic, NpgsqlDbType.Boolean, cancellationToken);
        await WriteNullableAsync(writer, accessToken, NpgsqlDbType.Varchar, cancellationToken);
        await WriteNullableAsync(writer, data, NpgsqlDbType.Bytea, cancellationToken);
        await WriteNullableAsync(writer, storeFname, NpgsqlDbType.Varchar, cancellationToken);
        await WriteNullableAsync(writer, size, NpgsqlDbType.Integer, cancellationToken);
        await WriteNullableAsync(writer, checksum, NpgsqlDbType.Varchar, cancellationToken);
        await writer.WriteAsync(mimetype, NpgsqlDbType.Varchar, cancellationToken);
        await WriteNullableAsync(writer, indexContent, NpgsqlDbType.Text, cancellationToken);
        await writer.WriteAsync(2, NpgsqlDbType.Integer, cancellationToken);
        await writer.WriteAsync(2, NpgsqlDbType.Integer, cancellationToken);
        await writer.WriteAsync(when, NpgsqlDbType.Timestamp, cancellationToken);
        await writer.WriteAsync(when, NpgsqlDbType.Timestamp, cancellationToken);
    }

    private static async Task WriteNullableAsync<T>(NpgsqlBinaryImporter writer, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
    {
        if (value is null)
        {
            await writer.WriteNullAsync(cancellationToken);
        }
        else
        {
            await writer.WriteAsync(value, type, cancellationToken);
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
