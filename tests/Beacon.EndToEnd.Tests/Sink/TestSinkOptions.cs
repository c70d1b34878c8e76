using Beacon.Smtp;

namespace Beacon.EndToEnd.Tests.Sink;

/// <summary>What a <see cref="TestSink"/> offers and how it answers. The defaults accept everything with full ESMTP.</summary>
public sealed record TestSinkOptions
{
    public string HostName { get; init; } = "sink.test";

    public bool Pipelining { get; init; } = true;

    public bool EightBitMime { get; init; } = true;

    public bool SmtpUtf8 { get; init; } = true;

    public bool Chunking { get; init; } = true;

    /// <summary>Offer STARTTLS with a self-signed certificate (the same one for every sink in the process).</summary>
    public bool StartTls { get; init; }

    public long MaxMessageSize { get; init; } = 50 * 1024 * 1024;

    /// <summary>The reply to each RCPT the session itself would accept; null accepts it.</summary>
    public Func<SinkRecipient, SmtpReply?>? OnRcpt { get; init; }

    /// <summary>The reply at the end of each message's content; null accepts it with 250.</summary>
    public Func<SinkMessage, SmtpReply?>? OnData { get; init; }
}

/// <summary>One RCPT as the reply script sees it.</summary>
/// <param name="Attempt">How many times this sink has been sent RCPT for this address, counting this one (1 = first).</param>
/// <param name="Connection">The connection's number on this sink (1 = first accepted connection).</param>
public sealed record SinkRecipient(string Address, string MailFrom, int Attempt, int Connection);

/// <summary>One message whose content arrived (DATA or BDAT), as the reply script sees it and as the sink records it.</summary>
/// <param name="Recipients">The recipients accepted in this transaction, in RCPT order.</param>
/// <param name="MailParameters">MAIL FROM's parameters (SIZE, BODY, SMTPUTF8, …) as sent.</param>
/// <param name="Data">The content after dot-unstuffing (or the BDAT chunks joined): what the client meant to send, byte for byte.</param>
/// <param name="Attempt">
/// How many times this sink has received content for any of these recipients, counting this one: the highest
/// count among them (1 = first).
/// </param>
/// <param name="Chunked">The content came with BDAT (RFC 3030) rather than DATA.</param>
public sealed record SinkMessage(
    string MailFrom,
    IReadOnlyList<string> Recipients,
    IReadOnlyDictionary<string, string?> MailParameters,
    byte[] Data,
    string? EhloName,
    bool Tls,
    int Connection,
    int Attempt,
    bool Chunked)
{
    public string Text => System.Text.Encoding.UTF8.GetString(Data);
}
