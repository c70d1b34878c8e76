namespace Beacon.Delivery;

/// <summary>Why a connection or a transaction to the next hop did not work out.</summary>
internal enum OutboundFailureKind
{
    /// <summary>The TCP connection could not be made (refused, unreachable).</summary>
    ConnectFailed,

    /// <summary>The peer did not answer (or accept data) within the configured time.</summary>
    Timeout,

    /// <summary>The peer closed or reset the connection.</summary>
    ConnectionLost,

    /// <summary>The greeting was not 220 (RFC 5321 §3.1: 554 or 421).</summary>
    GreetingRejected,

    /// <summary>Both EHLO and HELO were refused.</summary>
    HeloRejected,

    /// <summary>TLS is required but the peer doesn't offer STARTTLS or refused it.</summary>
    TlsRequired,

    /// <summary>The TLS handshake failed (protocol, certificate).</summary>
    TlsFailed,

    /// <summary>AUTH was refused, no common mechanism, or the connection isn't encrypted.</summary>
    AuthFailed,

    /// <summary>The peer sent something that is not an SMTP reply, or a reply that makes no sense at that point.</summary>
    ProtocolError,
}
