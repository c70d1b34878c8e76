using System.Buffers;
using System.Text;

namespace Beacon.Smtp;

/// <summary>
/// Parses the replies a server sends (the client side of RFC 5321 §4.2): one line "250 OK" or a multi-line reply
/// "250-first" … "250 last". Lines end in CRLF; a bare LF is tolerated, as real servers are not all strict.
/// Limits are enforced while reading: a line that reaches <see cref="MaxLineLength"/> without a line ending is
/// rejected before more of it is buffered, and so is a reply that reaches <see cref="MaxLines"/> lines without
/// its final line, so a hostile peer can make the client hold at most MaxLines × MaxLineLength bytes.
/// </summary>
public static class SmtpReplyParser
{
    /// <summary>Longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 says 512; real servers exceed it
    /// (long EHLO keyword lists, verbose rejections), so a generous bound that still caps memory.</summary>
    public const int MaxLineLength = 4096;

    /// <summary>Most lines in one reply (an EHLO reply has one per extension; 100 is far above any real server).</summary>
    public const int MaxLines = 100;

    /// <summary>
    /// Reads one whole reply from <paramref name="reader"/>.
    /// <code>
    /// Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
    /// Reply-code = %x32-35 %x30-35 %x30-39                                   (RFC 5321 §4.2)
    /// status-code = class "." subject "." detail; class = "2" / "4" / "5";
    /// subject = 1*3digit; detail = 1*3digit                                   (RFC 3463 §2, RFC 2034 §4)
    /// </code>
    /// Returns true with the reply, the reader advanced past it. Returns false when the reply is incomplete
    /// (<paramref name="rejection"/> is <see cref="ReplyRejection.None"/>, the reader is not advanced: read more
    /// and call again with all the bytes) or malformed (<paramref name="rejection"/> says why; the stream can't be
    /// followed any more and the connection must be closed).
    /// </summary>
    /// <remarks>
    /// The enhanced status code is taken from the first line when its class matches the reply code's first digit,
    /// and removed from every line that starts with the same code (RFC 2034 §4 repeats it on each line).
    /// </remarks>
    public static bool TryParse(ref SequenceReader<byte> reader, out SmtpReply? reply, out ReplyRejection rejection)
    {
        reply = null;
        rejection = ReplyRejection.None;

        // Lines are located first on a copy, so nothing is consumed (and no string made) until the final line is in.
        var scan = reader;
        var code = 0;
        var count = 0;
        while (true)
        {
            if (count == MaxLines)
            {
                rejection = ReplyRejection.TooManyLines;
                return false;
            }

            if (!TryReadLine(ref scan, out var line, out rejection))
            {
                return false;
            }

            count++;
            if (!TryReadCode(line, out var lineCode, out var last, out rejection))
            {
                return false;
            }

            if (count > 1 && lineCode != code)
            {
                rejection = ReplyRejection.MixedCodes;
                return false;
            }

            code = lineCode;
            if (last)
            {
                break;
            }
        }

        var lines = new List<string>(count);
        string? enhanced = null;
        for (var i = 0; i < count; i++)
        {
            TryReadLine(ref reader, out var line, out _);
            var text = line.Length > 4 ? Encoding.UTF8.GetString(line.Slice(4)) : string.Empty;
            if (i == 0)
            {
                enhanced = EnhancedCode(text, code);
            }

            if (enhanced is not null && text.StartsWith(enhanced, StringComparison.Ordinal) && (text.Length == enhanced.Length || text[enhanced.Length] == ' '))
            {
                text = text.Length == enhanced.Length ? string.Empty : text[(enhanced.Length + 1)..];
            }

            lines.Add(text);
        }

        reply = new SmtpReply(code, enhanced, lines);
        return true;
    }

    /// <summary>One line without its ending; false when it is not complete yet or is too long.</summary>
    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> line, out ReplyRejection rejection)
    {
        rejection = ReplyRejection.None;
        var start = reader;
        if (!reader.TryReadTo(out line, (byte)'\n'))
        {
            if (reader.Remaining >= MaxLineLength)
            {
                rejection = ReplyRejection.LineTooLong;
            }

            return false;
        }

        if (line.Length + 1 > MaxLineLength)
        {
            reader = start;
            rejection = ReplyRejection.LineTooLong;
            return false;
        }

        if (!line.IsEmpty && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r')
        {
            line = line.Slice(0, line.Length - 1);
        }

        return true;
    }

    private static bool TryReadCode(in ReadOnlySequence<byte> line, out int code, out bool last, out ReplyRejection rejection)
    {
        code = 0;
        last = true;
        rejection = ReplyRejection.None;
        Span<byte> head = stackalloc byte[4];
        var length = (int)Math.Min(line.Length, 4);
        line.Slice(0, length).CopyTo(head);
        if (length < 3)
        {
            rejection = ReplyRejection.TooShort;
            return false;
        }

        foreach (var digit in head[..3])
        {
            if (!char.IsAsciiDigit((char)digit))
            {
                rejection = ReplyRejection.NonDigit;
                return false;
            }
        }

        if (head[0] is < (byte)'2' or > (byte)'5' || head[1] > (byte)'5')
        {
            rejection = ReplyRejection.BadCode;
            return false;
        }

        code = ((head[0] - '0') * 100) + ((head[1] - '0') * 10) + (head[2] - '0');
        if (length == 4)
        {
            switch (head[3])
            {
                case (byte)'-':
                    last = false;
                    break;
                case (byte)' ':
                    break;
                default:
                    rejection = ReplyRejection.BadSeparator;
                    return false;
            }
        }

        return true;
    }

    /// <summary>The RFC 3463 code at the start of <paramref name="text"/> when its class matches the reply code.</summary>
    private static string? EnhancedCode(string text, int code)
    {
        var end = text.IndexOf(' ');
        var candidate = end < 0 ? text : text[..end];
        var parts = candidate.Split('.');
        if (parts.Length != 3 || parts[0].Length != 1 || parts[0][0] != (char)('0' + (code / 100)) || parts[0][0] is not ('2' or '4' or '5'))
        {
            return null;
        }

        return IsDigits(parts[1]) && IsDigits(parts[2]) ? candidate : null;

        static bool IsDigits(string s) => s.Length is >= 1 and <= 3 && s.All(char.IsAsciiDigit);
    }
}
