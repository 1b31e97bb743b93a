using System.Net.Sockets;
using System.Text;
using BackupDr.TestSupport;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace BackupDr.IntegrationTests.Servers;

public sealed class SmtpFixtureTests(SmtpFixture smtp)
{
    [Fact]
    public async Task Send_StartTlsAndAuth_MessageArrivesInRecipientsMailbox()
    {
        var ct = TestContext.Current.CancellationToken;
        var recipient = SmtpFixture.CreateRecipient();
        var bystander = SmtpFixture.CreateRecipient("other");
        using var client = CreateClient();

        await client.ConnectAsync(smtp.Host, smtp.Port, SecureSocketOptions.StartTls, ct);
        await client.AuthenticateAsync(smtp.Username, smtp.Password, ct);
        await client.SendAsync(Message(recipient, "Drill failed: odoo-prod"), ct);
        await client.DisconnectAsync(quit: true, ct);
        var messages = await smtp.WaitForMessagesAsync(recipient, 1, ct);

        var message = messages.ShouldHaveSingleItem();
        message.Message.Subject.ShouldBe("Drill failed: odoo-prod");
        (message.Message.TextBody ?? string.Empty).ShouldContain("restore check failed");
        message.MailFrom.ShouldBe("backupdr@example.test");
        message.Recipients.ShouldBe([recipient]);
        message.Secure.ShouldBeTrue();
        message.User.ShouldBe(smtp.Username);
        File.Exists(message.EmlPath).ShouldBeTrue();
        smtp.MessagesFor(bystander).ShouldBeEmpty();
    }

    [Fact]
    public async Task Authenticate_WrongPassword_IsRejected()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = CreateClient();
        await client.ConnectAsync(smtp.Host, smtp.Port, SecureSocketOptions.StartTls, ct);

        await Should.ThrowAsync<AuthenticationException>(() => client.AuthenticateAsync(smtp.Username, "wrong", ct));
    }

    // Spoken by hand: MailKit refuses to send unauthenticated to a server that offers AUTH, so it cannot show
    // that the server itself refuses.
    [Fact]
    public async Task MailFrom_WithoutAuth_IsRefusedWith530()
    {
        var ct = TestContext.Current.CancellationToken;
        using var connection = new TcpClient();
        await connection.ConnectAsync(smtp.Host, smtp.Port, ct);
        using var reader = new StreamReader(connection.GetStream(), Encoding.ASCII);
        await using var writer = new StreamWriter(connection.GetStream(), Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };

        (await ReadReplyAsync(reader, ct)).ShouldStartWith("220");
        await writer.WriteLineAsync("EHLO client.test".AsMemory(), ct);
        (await ReadReplyAsync(reader, ct)).ShouldStartWith("250");
        await writer.WriteLineAsync("MAIL FROM:<backupdr@example.test>".AsMemory(), ct);
        var reply = await ReadReplyAsync(reader, ct);
        await writer.WriteLineAsync("QUIT".AsMemory(), ct);

        reply.ShouldStartWith("530");
    }

    // Reads one SMTP reply (all lines of a multi-line reply) and returns its last line.
    private static async Task<string> ReadReplyAsync(StreamReader reader, CancellationToken ct)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync(ct) ?? throw new EndOfStreamException("The server closed the connection.");
            if (line.Length < 4 || line[3] != '-')
            {
                return line;
            }
        }
    }

    // The test accepts exactly the certificate the fixture made for this run, and nothing else.
    private SmtpClient CreateClient() => new()
    {
        ServerCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null
            && string.Equals(
                Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.GetRawCertData())),
                smtp.CertificateSha256,
                StringComparison.OrdinalIgnoreCase),
    };

    private static MimeMessage Message(string recipient, string subject)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("BackupDr", "backupdr@example.test"));
        message.To.Add(MailboxAddress.Parse(recipient));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = "The restore check failed.\nSee the drill report." };
        return message;
    }
}
