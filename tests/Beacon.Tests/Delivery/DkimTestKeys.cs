using System.Security.Cryptography;
using Beacon.Config;
using Beacon.Delivery;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;

namespace Beacon.Tests.Delivery;

/// <summary>
/// Keys made once per test run (never committed), written to a temporary directory per test as an operator's
/// PEM files would be; plus a MimeKit verifier whose "DNS" answers with the test key's record.
/// </summary>
internal static class DkimTestKeys
{
    private static readonly Lazy<string> RsaPem = new(() =>
    {
        using var rsa = RSA.Create(2048);
        return rsa.ExportRSAPrivateKeyPem();
    });

    private static readonly Lazy<string> Ed25519Pem = new(() =>
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        AsymmetricCipherKeyPair pair = generator.GenerateKeyPair();
        byte[] der = PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetEncoded();
        return new string(PemEncoding.Write("PRIVATE KEY", der));
    });

    /// <summary>A temporary directory holding both keys as PEM files; deleted on dispose.</summary>
    public sealed class Files : IDisposable
    {
        public Files()
        {
            Directory = Path.Combine(Path.GetTempPath(), "beacon-dkim-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(RsaPath, RsaPem.Value);
            File.WriteAllText(Ed25519Path, Ed25519Pem.Value);
        }

        public string Directory { get; }

        public string RsaPath => Path.Combine(Directory, "rsa.pem");

        public string Ed25519Path => Path.Combine(Directory, "ed25519.pem");

        public DkimKeyOptions Key(string domain, string algorithm = "rsa-sha256", string canonicalization = "relaxed") => new()
        {
            Domain = domain,
            Selector = algorithm == "rsa-sha256" ? "s1" : "e1",
            PrivateKey = algorithm == "rsa-sha256" ? RsaPath : Ed25519Path,
            Algorithm = algorithm,
            HeaderCanonicalization = canonicalization,
            BodyCanonicalization = canonicalization,
        };

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>Parses the final bytes and checks our DKIM-Signature fields (the first <paramref name="count"/>) with MimeKit's verifier.</summary>
    public static void AssertVerifies(byte[] signedMessage, DkimSigning signing, int count = 1)
    {
        MimeMessage message = MimeMessage.Load(new MemoryStream(signedMessage));
        var verifier = new DkimVerifier(new Locator(signing));
        verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
        Header[] signatures = message.Headers.Where(h => h.Id == HeaderId.DkimSignature).Take(count).ToArray();
        Assert.Equal(count, signatures.Length);
        foreach (Header signature in signatures)
            Assert.True(verifier.Verify(message, signature), "MimeKit rejects " + signature);
    }

    private sealed class Locator(DkimSigning signing) : DkimPublicKeyLocatorBase
    {
        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default)
        {
            DkimKey key = signing.Keys.Single(k => k.Domain == domain && k.Selector == selector);
            return GetPublicKey(key.DnsRecord);
        }

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
