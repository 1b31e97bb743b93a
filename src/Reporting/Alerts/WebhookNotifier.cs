using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BackupDr.Repository.Configuration;

namespace BackupDr.Reporting.Alerts;

/// <summary>
/// Alerts as a JSON POST. The body carries <c>text</c> (what Slack and Microsoft Teams incoming webhooks display) and
/// <c>backupdr</c> (every field, for receivers that route or deduplicate on <c>incidentId</c>). With a Secret, each
/// request is signed: <c>X-BackupDr-Timestamp</c> (Unix seconds) and
/// <c>X-BackupDr-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))</c>, so a receiver can reject
/// forged and replayed calls.
/// </summary>
/// <remarks>The URL is a secret (chat webhooks carry their credential in it): no message or log ever contains it.</remarks>
internal sealed class WebhookNotifier(WebhookOptions options, HttpClient http, TimeProvider time) : INotifier
{
    public const string SignatureHeader = "X-BackupDr-Signature";
    public const string TimestampHeader = "X-BackupDr-Timestamp";

    public string Name => "webhook";

    public static string Sign(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        var signed = new byte[Encoding.UTF8.GetByteCount(timestamp) + 1 + body.Length];
        var written = Encoding.UTF8.GetBytes(timestamp, signed);
        signed[written] = (byte)'.';
        body.CopyTo(signed.AsSpan(written + 1));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    public static JsonObject Payload(AlertMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new JsonObject
        {
            ["text"] = message.ToText(),
            ["backupdr"] = new JsonObject
            {
                ["schema"] = "backupdr-alert",
                ["schemaVersion"] = 1,
                ["state"] = message.State.ToString(),
                ["rule"] = message.Rule.ToString(),
                ["tenant"] = message.Tenant,
                ["environment"] = message.Environment,
                ["target"] = message.Target,
                ["summary"] = message.Summary,
                ["details"] = message.Details,
                ["since"] = message.Since,
                ["firstAction"] = message.FirstAction,
                ["incidentId"] = message.IncidentId,
                ["at"] = message.At,
            },
        };
    }

    public async Task SendAsync(AlertMessage message, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(Payload(message));
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (options.Secret.Length > 0)
        {
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            request.Headers.Add(TimestampHeader, timestamp);
            request.Headers.Add(SignatureHeader, Sign(options.Secret, timestamp, body));
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            // e.Message can name the URL: report the kind of failure only.
            throw new NotificationException($"webhook unreachable ({e.HttpRequestError})", isTransient: true, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NotificationException($"webhook did not answer within {http.Timeout.TotalSeconds:0} s", isTransient: true, e);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status is < 200 or > 299)
            {
                throw new NotificationException($"webhook answered HTTP {status} {response.ReasonPhrase}", isTransient: status is 408 or 429 or >= 500);
            }
        }
    }
}
