namespace Beacon.Delivery;

/// <summary>The signing algorithms Beacon offers (a= tag). rsa-sha1 is gone: RFC 8301 forbids signing with it.</summary>
internal enum DkimAlgorithm
{
    RsaSha256,

    /// <summary>RFC 8463: Ed25519 (PureEdDSA) over the SHA-256 hash of the signed data.</summary>
    Ed25519Sha256,
}
