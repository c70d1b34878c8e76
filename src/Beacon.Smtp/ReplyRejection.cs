namespace Beacon.Smtp;

/// <summary>Why bytes from a server are not an SMTP reply (RFC 5321 §4.2). Any of these ends the connection.</summary>
public enum ReplyRejection
{
    /// <summary>Not rejected: either a reply was parsed or more data is needed.</summary>
    None,

    /// <summary>A line shorter than the three digits of a reply code.</summary>
    TooShort,

    /// <summary>One of the first three characters is not a digit.</summary>
    NonDigit,

    /// <summary>Three digits, but not a reply code: Reply-code = %x32-35 %x30-35 %x30-39.</summary>
    BadCode,

    /// <summary>The code is followed by something other than SP, "-" or the end of the line.</summary>
    BadSeparator,

    /// <summary>The lines of one multi-line reply carry different codes (RFC 5321 §4.2.1 requires the same).</summary>
    MixedCodes,

    /// <summary>A line longer than <see cref="SmtpReplyParser.MaxLineLength"/>, line ending included.</summary>
    LineTooLong,

    /// <summary>A multi-line reply with more than <see cref="SmtpReplyParser.MaxLines"/> lines.</summary>
    TooManyLines,
}
