using System.Buffers;
using System.Text;

namespace Beacon.Smtp;

/// <summary>A command line split into its verb and its argument text (RFC 5321 §4.1.1).</summary>
public readonly record struct SmtpCommand(SmtpVerb Verb, string Argument)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly (byte[] Name, SmtpVerb Verb)[] Verbs =
    [
        ("HELO"u8.ToArray(), SmtpVerb.Helo), ("EHLO"u8.ToArray(), SmtpVerb.Ehlo), ("MAIL"u8.ToArray(), SmtpVerb.Mail),
        ("RCPT"u8.ToArray(), SmtpVerb.Rcpt), ("DATA"u8.ToArray(), SmtpVerb.Data), ("BDAT"u8.ToArray(), SmtpVerb.Bdat),
        ("RSET"u8.ToArray(), SmtpVerb.Rset), ("NOOP"u8.ToArray(), SmtpVerb.Noop), ("QUIT"u8.ToArray(), SmtpVerb.Quit),
        ("VRFY"u8.ToArray(), SmtpVerb.Vrfy), ("EXPN"u8.ToArray(), SmtpVerb.Expn), ("HELP"u8.ToArray(), SmtpVerb.Help),
        ("STARTTLS"u8.ToArray(), SmtpVerb.StartTls), ("AUTH"u8.ToArray(), SmtpVerb.Auth), ("XSETCONTEXT"u8.ToArray(), SmtpVerb.XSetContext),
    ];

    /// <summary>
    /// command = verb [SP argument]. The verb is matched case-insensitively on bytes; the argument must be UTF-8
    /// (RFC 6531 allows UTF-8 in addresses) and free of control characters other than HTAB.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out SmtpCommand command, out CommandRejection rejection)
    {
        command = default;
        rejection = CommandRejection.None;
        var space = line.IndexOf((byte)' ');
        var verbBytes = space < 0 ? line : line[..space];
        var argumentBytes = space < 0 ? [] : line[(space + 1)..];

        var verb = SmtpVerb.Unknown;
        foreach (var (name, candidate) in Verbs)
        {
            if (Ascii.EqualsIgnoreCase(verbBytes, name))
            {
                verb = candidate;
                break;
            }
        }

        if (verb == SmtpVerb.Unknown)
        {
            rejection = CommandRejection.UnknownCommand;
            return false;
        }

        foreach (var b in argumentBytes)
        {
            if ((b < 0x20 && b != (byte)'\t') || b == 0x7F)
            {
                rejection = CommandRejection.InvalidCharacters;
                return false;
            }
        }

        string argument;
        try
        {
            argument = StrictUtf8.GetString(argumentBytes).Trim(' ', '\t');
        }
        catch (DecoderFallbackException)
        {
            rejection = CommandRejection.InvalidCharacters;
            return false;
        }

        command = new SmtpCommand(verb, argument);
        return true;
    }

    public static bool TryParse(in ReadOnlySequence<byte> line, out SmtpCommand command, out CommandRejection rejection) =>
        line.IsSingleSegment
            ? TryParse(line.FirstSpan, out command, out rejection)
            : TryParse(line.ToArray(), out command, out rejection);
}

/// <summary>Why a command line was refused; <see cref="SmtpSession"/> maps each to one reply.</summary>
public enum CommandRejection
{
    None,
    UnknownCommand,
    InvalidCharacters,
}
