using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using BackupDr.Repository.Configuration;

namespace BackupDr.BackupWorker.Cli;

/// <summary>
/// Where a command's result goes. With <c>--json</c>, standard output receives exactly one JSON document and
/// nothing else (logs go to standard error); otherwise people get text. With <paramref name="singleLine"/> (the service,
/// whose logs share standard output) the document is written on one line, like each log line.
/// </summary>
internal sealed class CliOutput(bool json, TextWriter output, TextWriter error, bool singleLine = false)
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonSerializerOptions OneLine = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public bool Json { get; } = json;

    /// <summary>Writes a successful result: the JSON document, or the human text.</summary>
    public int Success(JsonObject document, string text)
    {
        if (Json)
        {
            document["ok"] = true;
            output.WriteLine(document.ToJsonString(singleLine ? OneLine : Indented));
        }
        else
        {
            output.WriteLine(text);
        }

        return ExitCodes.Success;
    }

    /// <summary>Reports a failure with its exit code; the message says what to do.</summary>
    public int Fail(int exitCode, string message, JsonObject? details = null)
    {
        if (Json)
        {
            var document = details ?? [];
            document["ok"] = false;
            document["exitCode"] = exitCode;
            document["error"] = message;
            output.WriteLine(document.ToJsonString(singleLine ? OneLine : Indented));
        }
        else
        {
            error.WriteLine($"error: {message}");
        }

        return exitCode;
    }

    /// <summary>
    /// A result that is reported in full whatever its verdict (a drill): the document, or the text on standard output;
    /// when <paramref name="failure"/> is set, also the exit code and the failure (on standard error in text mode).
    /// </summary>
    public int Report(int exitCode, JsonObject document, string text, string? failure)
    {
        if (Json)
        {
            document["ok"] = exitCode == ExitCodes.Success;
            if (failure is not null)
            {
                document["exitCode"] = exitCode;
                document["error"] = failure;
            }

            output.WriteLine(document.ToJsonString(singleLine ? OneLine : Indented));
        }
        else
        {
            output.WriteLine(text);
            if (failure is not null)
            {
                error.WriteLine($"error: {failure}");
            }
        }

        return exitCode;
    }

    public int InvalidConfiguration(IReadOnlyList<ConfigurationError> errors)
    {
        if (Json)
        {
            var list = new JsonArray(errors.Select(e => (JsonNode)new JsonObject { ["key"] = e.Key, ["message"] = e.Message }).ToArray());
            return Fail(ExitCodes.Usage, "the configuration is invalid", new JsonObject { ["valid"] = false, ["errors"] = list });
        }

        error.WriteLine(InvalidConfigurationException.Describe(errors));
        return ExitCodes.Usage;
    }

    public static string Format(JsonNode node) => node.ToJsonString(Indented);
}
