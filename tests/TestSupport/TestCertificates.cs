using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace BackupDr.TestSupport;

/// <summary>A test server's certificate and key as PEM, and its SHA-256 thumbprint (hex, upper case), which a client pins.</summary>
public sealed record TestCertificate(string CertificatePem, string KeyPem, string Sha256)
{
    /// <summary>The server's <c>--cert</c> and <c>--key</c> arguments for the files <see cref="WriteTo"/> writes in <paramref name="folder"/>.</summary>
    public static string[] Arguments(string folder) =>
        ["--cert", Path.Combine(folder, "tls", "cert.pem"), "--key", Path.Combine(folder, "tls", "key.pem")];

    /// <summary>Writes <c>tls/cert.pem</c> and <c>tls/key.pem</c> into a server's data folder (a <see cref="NodeServerOptions.Prepare"/>).</summary>
    public void WriteTo(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "tls"));
        File.WriteAllText(Path.Combine(folder, "tls", "cert.pem"), CertificatePem);
        File.WriteAllText(Path.Combine(folder, "tls", "key.pem"), KeyPem);
    }
}

/// <summary>Certificates for the test servers that speak TLS.</summary>
public static class TestCertificates
{
    /// <summary>A self-signed server certificate for <c>localhost</c> and 127.0.0.1, valid from yesterday for 30 days.</summary>
    public static TestCertificate SelfSignedLoopback()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        return new TestCertificate(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(),
            certificate.GetCertHashString(HashAlgorithmName.SHA256));
    }
}
