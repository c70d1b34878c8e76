namespace Beacon.Delivery;

/// <summary>Whether the client asks for STARTTLS (RFC 3207).</summary>
internal enum OutboundTls
{
    /// <summary>Never: the session stays in clear text even when the peer offers STARTTLS.</summary>
    None,

    /// <summary>When the peer offers it; in clear text otherwise. A failed handshake is still a failure (the
    /// connection is unusable after it); the caller may reconnect with <see cref="None"/>, as Postfix does.</summary>
    Opportunistic,

    /// <summary>Always: a peer that doesn't offer STARTTLS, or a failed handshake, is a failure.</summary>
    Required,
}
