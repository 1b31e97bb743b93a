using System.Net.Sockets;
using System.Security.Cryptography;
using BackupDr.Repository.Configuration;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace BackupDr.Reporting.Alerts;

/// <summary>
/// Sends one message through the configured SMTP relay: TLS on connect for port 465, otherwise STARTTLS that must
/// succeed (a server that does not offer it is an error, never a silent plain-text fallback), then authentication
/// when a user name is set. Used for alerts and for the monthly report.
/// </summary>
internal sealed class SmtpMailer(EmailOptions options)
{
    /// <exception cref="NotificationException">Not sent; says why, without the password.</exception>
    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        using var client = new SmtpClient();
        if (options.TrustedCertificateSha256.Length > 0)
        {
            var pinned = options.TrustedCertificateSha256.Replace(":", "", StringComparison.Ordinal);
            client.ServerCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null
                && string.Equals(Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())), pinned, StringComparison.OrdinalIgnoreCase);
        }

        var security = !options.UseTls ? SecureSocketOptions.None
            : options.Port == 465 ? SecureSocketOptions.SslOnConnect
            : SecureSocketOptions.StartTls;
        var relay = $"SMTP relay {options.Host}:{options.Port}";
        try
        {
            await client.ConnectAsync(options.Host, options.Port, security, cancellationToken);
            if (options.Username.Length > 0)
            {
                await client.AuthenticateAsync(options.Username, options.Password, cancellationToken);
            }

            await client.SendAsync(message, cancellationToken);
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (AuthenticationException e)
        {
            throw new NotificationException(
                $"{relay} refused the login of '{options.Username}': check Notifications:Email:Username and Password", isTransient: false, e);
        }
        catch (SslHandshakeException e)
        {
            throw new NotificationException(
                $"{relay}: TLS failed ({e.Message.Split('\n')[0].Trim()}); if the relay uses a private certificate, set Notifications:Email:TrustedCertificateSha256",
                isTransient: false, e);
        }
        catch (NotSupportedException e) when (security == SecureSocketOptions.StartTls)
        {
            throw new NotificationException($"{relay} does not offer STARTTLS; mail is never sent in clear unless Notifications:Email:UseTls is false", isTransient: false, e);
        }
        catch (SmtpCommandException e)
        {
            var code = (int)e.StatusCode;
            throw new NotificationException($"{relay} answered {code} {e.Message}", isTransient: code is >= 400 and < 500, e);
        }
        catch (Exception e) when (e is SocketException or IOException or SmtpProtocolException or ServiceNotConnectedException)
        {
            throw new NotificationException($"{relay} unreachable or broke the conversation: {e.Message}", isTransient: true, e);
        }
    }
}
