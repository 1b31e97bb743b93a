using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// Reads and writes repository.json: UTF-8 JSON, camelCase, indented. Reading checks the format name and version
/// before anything else, then the document's shape (unknown or missing properties are refused), then every rule of
/// <see cref="RepositoryDocumentRules"/>. Writing checks the same rules, so an invalid document is never stored.
/// </summary>
internal static class RepositoryDocumentSerializer
{
    // The relaxed encoder writes '+' in base64 as itself rather than \u002B. repository.json is a file read by
    // BackupDr, never embedded in HTML, which is the only case the stricter default encoder protects.
    private static readonly RepositoryDocumentJsonContext Context = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    });

    public static byte[] SerializeToUtf8Bytes(RepositoryDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        RepositoryDocumentRules.EnsureValid(document);
        return JsonSerializer.SerializeToUtf8Bytes(document, Context.RepositoryDocument);
    }

    public static string Serialize(RepositoryDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        RepositoryDocumentRules.EnsureValid(document);
        return JsonSerializer.Serialize(document, Context.RepositoryDocument);
    }

    /// <exception cref="RepositoryFormatException">The bytes are not a repository document this build can use.</exception>
    public static RepositoryDocument Parse(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument json;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            json = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            throw new RepositoryFormatException($"repository.json is not valid JSON: {ex.Message}", ex);
        }

        using (json)
        {
            CheckFormatAndVersion(json.RootElement);
            RepositoryDocument? document;
            try
            {
                document = json.RootElement.Deserialize(Context.RepositoryDocument);
            }
            catch (JsonException ex)
            {
                throw new RepositoryFormatException($"repository.json is malformed: {ex.Message}", ex);
            }

            if (document is null)
            {
                throw new RepositoryFormatException("repository.json is malformed: it is null");
            }

            RepositoryDocumentRules.EnsureValid(document);
            return document;
        }
    }

    public static RepositoryDocument Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(System.Text.Encoding.UTF8.GetBytes(json));
    }

    private static void CheckFormatAndVersion(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new RepositoryFormatException("repository.json is malformed: it is not a JSON object");
        }

        if (!root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String
            || format.GetString() != RepositoryDocument.FormatName)
        {
            throw new RepositoryFormatException(
                $"repository.json is not a BackupDr repository document (\"format\" must be \"{RepositoryDocument.FormatName}\")");
        }

        if (!root.TryGetProperty("formatVersion", out var version) || version.ValueKind != JsonValueKind.Number
            || !version.TryGetInt32(out var formatVersion))
        {
            throw new RepositoryFormatException("repository.json is malformed: \"formatVersion\" must be an integer");
        }

        if (formatVersion > RepositoryDocument.CurrentFormatVersion)
        {
            throw new RepositoryFormatException(
                $"repository format {formatVersion} is newer than this backupdr understands ({RepositoryDocument.CurrentFormatVersion})");
        }

        if (formatVersion < RepositoryDocument.CurrentFormatVersion)
        {
            throw new RepositoryFormatException(
                $"repository.json is malformed: format version {formatVersion} does not exist");
        }
    }
}

[JsonSerializable(typeof(RepositoryDocument))]
internal sealed partial class RepositoryDocumentJsonContext : JsonSerializerContext
{
}
