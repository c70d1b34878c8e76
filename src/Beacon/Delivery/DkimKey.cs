using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace Beacon.Delivery;

/// <summary>
/// One loaded signing key with its settings. RSA signs with the platform's RSA (OpenSSL: several times faster than a
/// managed implementation, and one signature is made per recipient copy); .NET has no Ed25519, so that comes from
/// BouncyCastle, which MimeKit already depends on.
/// </summary>
internal sealed class DkimKey : IDisposable
{
    private readonly RSA? _rsa;
    private readonly Ed25519PrivateKeyParameters? _ed25519;

    private DkimKey(string domain, string selector, DkimAlgorithm algorithm, DkimKeySettings settings, RSA? rsa,
        Ed25519PrivateKeyParameters? ed25519)
    {
        Domain = domain;
        Selector = selector;
        Algorithm = algorithm;
        Settings = settings;
        _rsa = rsa;
        _ed25519 = ed25519;
    }

    /// <summary>The d= domain: lower case, A-labels.</summary>
    public string Domain { get; }

    public string Selector { get; }

    public DkimAlgorithm Algorithm { get; }

    public DkimKeySettings Settings { get; }

    public IReadOnlyList<string> Headers => Settings.Headers;

    public DkimCanonicalization HeaderCanonicalization => Settings.HeaderCanonicalization;

    public DkimCanonicalization BodyCanonicalization => Settings.BodyCanonicalization;

    public bool SignSubdomains => Settings.SignSubdomains;

    /// <summary>The TXT record to publish at <c>selector._domainkey.domain</c> (RFC 6376 §3.6.1, RFC 8463 §4).</summary>
    public string DnsRecord => _rsa is not null
        ? "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(_rsa.ExportSubjectPublicKeyInfo())
        : "v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(_ed25519!.GeneratePublicKey().GetEncoded());

    public string AlgorithmName => Algorithm == DkimAlgorithm.RsaSha256 ? "rsa-sha256" : "ed25519-sha256";

    /// <summary>Reads a PEM private key; on failure returns null and says why in <paramref name="error"/>.</summary>
    public static DkimKey? TryLoad(string domain, string selector, DkimAlgorithm algorithm, string pem, DkimKeySettings settings,
        out string? error)
    {
        error = null;
        if (algorithm == DkimAlgorithm.RsaSha256)
        {
            var rsa = RSA.Create();
            try
            {
                rsa.ImportFromPem(pem);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                rsa.Dispose();
                error = "not an unencrypted RSA private key in PEM (PKCS#1 or PKCS#8)";
                return null;
            }

            if (rsa.KeySize < 1024)
            {
                error = $"an RSA key of {rsa.KeySize} bits is too short (RFC 8301: at least 1024, 2048 advised)";
                rsa.Dispose();
                return null;
            }

            return new DkimKey(domain, selector, algorithm, settings, rsa, null);
        }

        try
        {
            PemFields fields = PemEncoding.Find(pem);
            if (pem[fields.Label] == "PRIVATE KEY"
                && PrivateKeyFactory.CreateKey(Convert.FromBase64String(pem[fields.Base64Data])) is Ed25519PrivateKeyParameters key)
            {
                return new DkimKey(domain, selector, algorithm, settings, null, key);
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or IOException or SecurityUtilityException)
        {
            // reported below
        }

        error = "not an unencrypted Ed25519 private key in PEM (PKCS#8, \"BEGIN PRIVATE KEY\")";
        return null;
    }

    /// <summary>Signs the SHA-256 hash of the canonical headers (RFC 6376 §3.7; RFC 8463 §3 signs that hash with PureEdDSA).</summary>
    public byte[] SignHash(byte[] hash)
    {
        if (_rsa is not null)
            return _rsa.SignHash(hash, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var signer = new Ed25519Signer(); // holds a buffer, so one per signature; the key is immutable
        signer.Init(forSigning: true, _ed25519);
        signer.BlockUpdate(hash, 0, hash.Length);
        return signer.GenerateSignature();
    }

    public void Dispose() => _rsa?.Dispose();

    /// <summary>The one-line summary for start-up logs and <c>beacon config check</c>.</summary>
    public override string ToString() => $"{Selector}._domainkey.{Domain} ({AlgorithmName})";
}
