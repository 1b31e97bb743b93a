using System.Security.Cryptography;
using System.Text.Json;
using MimeKit;
using Xunit;

namespace BackupDr.TestSupport;

/// <summary>One message the SMTP sink accepted: the SMTP envelope and the parsed message.</summary>
/// <param name="Id">The sink's id, also the file names' stem.</param>
/// <param name="MailFrom">The envelope sender (MAIL FROM), which can differ from the From header.</param>
/// <param name="Recipients">The envelope recipients (RCPT TO), Bcc included.</param>
/// <param name="User">The authenticated user name, or null.</param>
/// <param name="Secure">True when the message came over TLS (STARTTLS).</param>
/// <param name="ReceivedAt">When the sink stored it (the sink's clock).</param>
/// <param name="EmlPath">The raw message as received.</param>
/// <param name="Message">The message parsed by MimeKit (headers, body, attachments).</param>
public sealed record ReceivedMessage(
    string Id,
    string MailFrom,
    IReadOnlyList<string> Recipients,
    string? User,
    bool Secure,
    DateTimeOffset ReceivedAt,
    string EmlPath,
    MimeMessage Message);

/// <summary>
/// One SMTP server (tools/servers/smtp-sink.mjs, built on npm smtp-server) per test run, register with
/// <c>[assembly: AssemblyFixture]</c>. It offers STARTTLS with a self-signed certificate made for this run
/// (<see cref="CertificateSha256"/>; a client must accept it explicitly), requires AUTH PLAIN or LOGIN with
/// <see cref="Username"/> and <see cref="Password"/> (offered only after STARTTLS) and stores every message.
/// </summary>
/// <remarks>
/// Test classes share the server, not their mail: each takes its own recipient from <see cref="CreateRecipient"/>
/// and reads only messages addressed to it with <see cref="WaitForMessagesAsync"/> or <see cref="MessagesFor"/>.
/// </remarks>
public sealed class SmtpFixture : IAsyncLifetime, INodeServerFixture
{
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private readonly ServerFixtureState _state = new("SMTP sink (test mail server)");

    public NodeServerProcess Server => _state.Server;

    public string Host { get; } = "127.0.0.1";

    public int Port => Server.Port;

    public string Username { get; } = "backupdr-test";

    /// <summary>A new password each run.</summary>
    public string Password { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));

    /// <summary>SHA-256 of the server certificate (hex, upper case), for a client that pins it.</summary>
    public string CertificateSha256 { get; private set; } = string.Empty;

    /// <summary>Where the sink writes <c>&lt;id&gt;.eml</c> and then <c>&lt;id&gt;.json</c> (the envelope).</summary>
    public string MailDirectory => Path.Combine(Server.DataDirectory, "mail");

    /// <summary>How long <see cref="WaitForMessagesAsync"/> waits before it fails.</summary>
    public TimeSpan MessageTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public async ValueTask InitializeAsync()
    {
        var certificate = TestCertificates.SelfSignedLoopback();
        CertificateSha256 = certificate.Sha256;
        await _state.StartAsync(
            new NodeServerOptions(
                "smtp-sink",
                Path.Combine("servers", "smtp-sink.mjs"),
                (port, folder) =>
                [
                    "--host", "127.0.0.1", "--port", $"{port}", "--mail-dir", Path.Combine(folder, "mail"),
                    .. TestCertificate.Arguments(folder),
                ],
                "SMTP-SINK READY",
                NodeServerProcess.AcceptsConnectionsAsync)
            {
                Environment = new Dictionary<string, string>
                {
                    ["SMTP_SINK_USER"] = Username,
                    ["SMTP_SINK_PASSWORD"] = Password,
                },
                Prepare = certificate.WriteTo,
            },
            TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => _state.DisposeAsync();

    /// <summary>A recipient address no other test uses, e.g. <c>alerts-3f2a…@backupdr.test</c>.</summary>
    public static string CreateRecipient(string localPart = "alerts") => $"{localPart}-{Guid.NewGuid():N}@backupdr.test";

    /// <summary>The messages received so far with <paramref name="recipient"/> among their envelope recipients.</summary>
    public IReadOnlyList<ReceivedMessage> MessagesFor(string recipient)
    {
        var messages = new List<ReceivedMessage>();
        if (!Directory.Exists(MailDirectory))
        {
            return messages;
        }

        // The sink renames <id>.json into place after <id>.eml: a visible .json means both files are complete.
        foreach (var envelopePath in Directory.EnumerateFiles(MailDirectory, "*.json"))
        {
            var envelope = JsonSerializer.Deserialize<SinkEnvelope>(File.ReadAllText(envelopePath), JsonOptions)
                ?? throw new InvalidOperationException($"Empty envelope file {envelopePath}.");
            if (!envelope.RcptTo.Contains(recipient, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var emlPath = Path.Combine(MailDirectory, envelope.Eml);
            messages.Add(new ReceivedMessage(
                envelope.Id, envelope.MailFrom, envelope.RcptTo, envelope.User, envelope.Secure, envelope.ReceivedAt,
                emlPath, MimeMessage.Load(emlPath)));
        }

        return [.. messages.OrderBy(m => m.ReceivedAt).ThenBy(m => m.Id, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> messages for <paramref name="recipient"/> arrived and returns
    /// all of them; throws <see cref="TimeoutException"/> after <see cref="MessageTimeout"/>.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForMessagesAsync(
        string recipient, int count, CancellationToken cancellationToken)
    {
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        while (true)
        {
            var messages = MessagesFor(recipient);
            if (messages.Count >= count)
            {
                return messages;
            }

            if (clock.GetElapsedTime(started) > MessageTimeout)
            {
                throw new TimeoutException(
                    $"{messages.Count} of {count} messages for {recipient} arrived within {MessageTimeout.TotalSeconds:0} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), clock, cancellationToken);
        }
    }

    private sealed record SinkEnvelope(
        string Id, string Eml, string MailFrom, IReadOnlyList<string> RcptTo, string? User, bool Secure,
        DateTimeOffset ReceivedAt);
}
