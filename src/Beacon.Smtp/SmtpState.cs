namespace Beacon.Smtp;

/// <summary>Where a session stands in the RFC 5321 §4.1.4 command sequence.</summary>
public enum SmtpState
{
    /// <summary>Greeted by the server; no HELO/EHLO yet (also after STARTTLS, RFC 3207 §4.2).</summary>
    Connected,

    /// <summary>HELO/EHLO done, no mail transaction.</summary>
    Ready,

    /// <summary>MAIL accepted, no recipient accepted yet.</summary>
    Mail,

    /// <summary>At least one RCPT accepted.</summary>
    Rcpt,

    /// <summary>Inside a BDAT transaction (RFC 3030) after a non-LAST chunk.</summary>
    Chunking,

    /// <summary>An AUTH exchange waits for the client's next response line (RFC 4954 §4).</summary>
    Auth,

    /// <summary>QUIT or a fatal error: nothing more is read.</summary>
    Closed,
}

/// <summary>What the transport must do after a reply (the session itself never touches a socket).</summary>
public enum SessionEffect
{
    None,

    /// <summary>Write the reply, then close the connection.</summary>
    Close,

    /// <summary>Write the reply (220), then negotiate TLS and call <see cref="SmtpSession.TlsEstablished"/>.</summary>
    StartTls,

    /// <summary>Write the reply (354), read dot-stuffed content, then call <see cref="SmtpSession.MessageCompleted"/>.</summary>
    ReceiveData,

    /// <summary>Read <see cref="SmtpStep.ChunkSize"/> octets of a BDAT chunk into the message, then call
    /// <see cref="SmtpSession.ChunkReceived"/> or, for the last chunk, <see cref="SmtpSession.MessageCompleted"/>.</summary>
    ReceiveChunk,

    /// <summary>Read and drop <see cref="SmtpStep.ChunkSize"/> octets, then write the reply.</summary>
    DiscardChunk,
}

/// <summary>The outcome of one input line: a reply to send (possibly after the effect) and an effect.</summary>
public readonly record struct SmtpStep(SmtpReply? Reply, SessionEffect Effect = SessionEffect.None, long ChunkSize = 0, bool LastChunk = false)
{
    /// <summary>Set when a RCPT was refused, so that the host can record a policy_rejection event.</summary>
    public MailPath? RefusedRecipient { get; init; }
}
