namespace Beacon.Delivery;

/// <summary>How an <see cref="OutboundConnection"/> behaves. Timeouts default to RFC 5321 §4.5.3.2.</summary>
internal sealed record OutboundOptions
{
    /// <summary>The name sent in EHLO/HELO: this host's fully qualified name (RFC 5321 §4.1.1.1).</summary>
    public required string HeloName { get; init; }

    /// <summary>Establishing the TCP connection. Not in RFC 5321; 30 s as Postfix's smtp_connect_timeout.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Waiting for the 220 greeting (§4.5.3.2.1: 5 minutes).</summary>
    public TimeSpan GreetingTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Each command's reply: EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA's 354, RSET, QUIT (§4.5.3.2.2-4: 5 minutes).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Each write of message content (§4.5.3.2.5: 3 minutes per data block).</summary>
    public TimeSpan DataTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>The reply after the final "." (§4.5.3.2.6: 10 minutes; the server may be scanning or spooling).</summary>
    public TimeSpan DataTerminationTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public OutboundTls Tls { get; init; } = OutboundTls.Opportunistic;

    /// <summary>
    /// Check the peer's certificate chain and that it names the peer. Off by default: MTA-to-MTA TLS is
    /// opportunistic and unauthenticated (RFC 7435), and refusing a self-signed certificate would only make the
    /// mail go in clear text instead. Turn it on with <see cref="OutboundTls.Required"/> for a known smarthost.
    /// </summary>
    public bool VerifyCertificate { get; init; }

    /// <summary>AUTH user (RFC 4954); no AUTH when null.</summary>
    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>Send credentials over a connection without TLS. Off: a password in clear text is a leak.</summary>
    public bool AllowInsecureAuth { get; init; }

    /// <summary>
    /// Refuse to send 8-bit content to a peer that doesn't announce 8BITMIME, as RFC 6152 §3 says
    /// (each recipient gets 554 5.6.3). Off by default: like Postfix, Beacon sends it anyway without BODY=, since
    /// nearly every server today is 8-bit clean and bouncing or re-encoding (which breaks DKIM) is worse.
    /// </summary>
    public bool Strict8BitMime { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
