namespace Beacon.Delivery;

/// <summary>RFC 6376 §3.4: how header fields and the body are normalised before hashing (c= tag).</summary>
internal enum DkimCanonicalization
{
    Simple,
    Relaxed,
}
