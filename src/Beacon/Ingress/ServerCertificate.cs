using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Beacon.Config;

namespace Beacon.Ingress;

/// <summary>Loads a listener's certificate, or makes the self-signed one ("tls": "self-signed") once and keeps it in data_dir/tls.</summary>
internal static class ServerCertificate
{
    public static X509Certificate2? Load(ListenerOptions listener, string dataDir) =>
        Load(listener.Tls, listener.TlsKey, listener.TlsPassword, listener.Hostname!, dataDir);

    /// <summary>The same "tls", "tls_key" and "tls_password" options, wherever they are configured (also the tracker's).</summary>
    public static X509Certificate2? Load(string tls, string? tlsKey, string? tlsPassword, string hostName, string dataDir)
    {
        switch (tls)
        {
            case "none":
                return null;
            case "self-signed":
                return LoadOrCreateSelfSigned(Path.Combine(Path.GetFullPath(dataDir), "tls"), hostName);
        }

        if (tls.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || tls.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(tls, tlsPassword);
        }

        var pem = tlsPassword is null
            ? X509Certificate2.CreateFromPemFile(tls, tlsKey)
            : X509Certificate2.CreateFromEncryptedPemFile(tls, tlsPassword, tlsKey);

        // SslStream on Linux wants a certificate whose key is not ephemeral.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    private static X509Certificate2 LoadOrCreateSelfSigned(string directory, string hostName)
    {
        var path = Path.Combine(directory, $"self-signed-{hostName}.pfx");
        if (File.Exists(path))
        {
            var existing = X509CertificateLoader.LoadPkcs12FromFile(path, null);
            if (existing.NotAfter > DateTime.UtcNow.AddDays(30))
            {
                return existing;
            }
        }

        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hostName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(hostName);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(2));
        var pfx = certificate.Export(X509ContentType.Pkcs12);
        File.WriteAllBytes(path, pfx);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return X509CertificateLoader.LoadPkcs12(pfx, null);
    }
}
