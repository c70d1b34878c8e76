namespace Beacon.Delivery;

/// <summary>What MAIL and RCPT say about one message sent to the next hop.</summary>
/// <param name="MailFrom">The reverse-path without angle brackets; empty for the null path &lt;&gt; (RFC 5321 §4.5.5).</param>
/// <param name="Recipients">Forward-paths without angle brackets, in the order RCPT is sent.</param>
internal sealed record Envelope(string MailFrom, IReadOnlyList<string> Recipients)
{
    /// <summary>The message or an address needs SMTPUTF8 (RFC 6531). Non-ASCII addresses imply it anyway.</summary>
    public bool RequiresSmtpUtf8 { get; init; }

    /// <summary>The content has octets above 127 (RFC 6152 BODY=8BITMIME).</summary>
    public bool EightBitMime { get; init; }

    /// <summary>The content size in octets for SIZE= (RFC 1870), when known.</summary>
    public long? Size { get; init; }
}
