using Microsoft.Extensions.Configuration;

namespace Beacon.Config;

/// <summary>
/// One DKIM signing key: an element of the <c>delivery.dkim</c> list (<see cref="DeliveryOptions.Dkim"/>,
/// docs/delivery.md#dkim). <see cref="Delivery.DkimSigning.Load"/> validates every value and reports it by its key
/// path, at configuration load (so `beacon config check` sees it) and again when the server builds its signer.
/// <code>
/// "delivery": { "dkim": [
///   { "domain": "example.com", "selector": "s1", "private_key": "/etc/beacon/dkim/s1.pem",
///     "algorithm": "rsa-sha256", "headers": ["From", "To", "Subject"],
///     "header_canonicalization": "relaxed", "body_canonicalization": "relaxed", "sign_subdomains": true } ] }
/// </code>
/// </summary>
public sealed class DkimKeyOptions
{
    /// <summary>The signing domain (d=); mail whose RFC5322.From is this domain, or one under it, is signed.</summary>
    [ConfigurationKeyName("domain")]
    public string Domain { get; set; } = string.Empty;

    /// <summary>The selector (s=): the public key is published at selector._domainkey.domain.</summary>
    [ConfigurationKeyName("selector")]
    public string Selector { get; set; } = string.Empty;

    /// <summary>A PEM file: PKCS#1 or PKCS#8 RSA (at least 1024 bits, 2048 advised), or PKCS#8 Ed25519.</summary>
    [ConfigurationKeyName("private_key")]
    public string PrivateKey { get; set; } = string.Empty;

    /// <summary>"rsa-sha256" (default) or "ed25519-sha256" (RFC 8463).</summary>
    [ConfigurationKeyName("algorithm")]
    public string Algorithm { get; set; } = "rsa-sha256";

    /// <summary>Header fields to sign, when present; empty means <see cref="Delivery.DkimSigning.DefaultHeaders"/>. Must include From.</summary>
    [ConfigurationKeyName("headers")]
    public List<string> Headers { get; set; } = [];

    /// <summary>"relaxed" (default) or "simple".</summary>
    [ConfigurationKeyName("header_canonicalization")]
    public string HeaderCanonicalization { get; set; } = "relaxed";

    /// <summary>"relaxed" (default) or "simple".</summary>
    [ConfigurationKeyName("body_canonicalization")]
    public string BodyCanonicalization { get; set; } = "relaxed";

    /// <summary>Also sign mail from subdomains (From mail.example.com signed d=example.com: aligned under DMARC's
    /// relaxed alignment, the default). A key for the exact domain always wins.</summary>
    [ConfigurationKeyName("sign_subdomains")]
    public bool SignSubdomains { get; set; } = true;
}
