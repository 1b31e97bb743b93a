using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace BackupDr.TestSupport;

/// <summary>Certificates for the test servers that speak TLS.</summary>
public static class TestCertificates
{
    /// <summary>
    /// A self-signed server certificate for <c>localhost</c> and 127.0.0.1, valid from yesterday for 30 days, as PEM
    /// (certificate, PKCS#8 key) and its SHA-256 thumbprint (hex, upper case), which a client pins.
    /// </summary>
    public static (string CertificatePem, string KeyPem, string Sha256) SelfSignedLoopback()
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
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(),
            certificate.GetCertHashString(HashAlgorithmName.SHA256));
    }
}
