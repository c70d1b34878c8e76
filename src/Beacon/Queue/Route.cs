namespace Beacon.Queue;

/// <summary>How mail for one recipient domain leaves: the kind of next hop and the settings of its queue.</summary>
/// <param name="Key">Names the destination queue. Recipients with the same key share connections and limits:
/// the domain for MX routes, the relay for smarthost routes, "capture" for capture.</param>
/// <param name="Domain">The recipient domain (lower case, A-labels) an MX route resolves.</param>
public sealed record Route(RouteKind Kind, string Key, string Domain, NextHop? Smarthost, int Port, TlsPolicy Tls, int MaxConnections);

public enum RouteKind
{
    Capture,
    Mx,
    Smarthost,
}

/// <summary>What delivery does about STARTTLS (delivery.tls).</summary>
public enum TlsPolicy
{
    None,

    /// <summary>STARTTLS when the peer offers it, without checking its certificate (RFC 3207 §4.1; what MTAs do).</summary>
    Opportunistic,

    /// <summary>STARTTLS or no delivery (the attempt is a temporary failure), certificate not checked.</summary>
    Required,

    /// <summary>Required, and the certificate must be valid for the host name.</summary>
    Verify,
}
