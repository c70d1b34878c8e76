namespace Beacon.Smtp;

/// <summary>The commands Beacon understands (RFC 5321 §4.1.1, RFC 3030, RFC 3207, RFC 4954).</summary>
public enum SmtpVerb
{
    Unknown,
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Expn,
    Help,
    StartTls,
    Auth,

    /// <summary>Momentum's XSETCONTEXT name=value … (connection context variables, xtext-encoded values).</summary>
    XSetContext,
}
