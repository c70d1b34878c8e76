namespace Beacon.Smtp;

/// <summary>What one listener offers and enforces; the session reads these, the host fills them from configuration.</summary>
public sealed record SmtpSessionOptions
{
    public string HostName { get; init; } = "localhost";

    public long MaxMessageSize { get; init; } = 50 * 1024 * 1024;

    public int MaxRecipients { get; init; } = 1000;

    /// <summary>Negative replies a client may collect before the session ends with 421.</summary>
    public int MaxErrors { get; init; } = 20;

    public bool Pipelining { get; init; } = true;

    public bool EightBitMime { get; init; } = true;

    public bool SmtpUtf8 { get; init; } = true;

    public bool Chunking { get; init; } = true;

    /// <summary>A certificate is available, so STARTTLS can be offered.</summary>
    public bool TlsAvailable { get; init; }

    /// <summary>Users are configured, so AUTH can be offered.</summary>
    public bool AuthAvailable { get; init; }

    /// <summary>Offer and accept XSETCONTEXT (only for trusted peers: the host decides per connection).</summary>
    public bool XSetContext { get; init; }

    /// <summary>Offer AUTH without TLS (passwords in clear text on the wire).</summary>
    public bool AllowInsecureAuth { get; init; }
}
