using System.Buffers;

namespace Beacon.Smtp;

/// <summary>
/// Decodes the DATA content stream (RFC 5321 §4.5.2): removes the transparency dot at the start of a line and
/// finds the end-of-data line. Only CRLF "." CRLF ends the data, and a line starts only after CRLF, so a bare
/// LF followed by "." can never end a message early (the SMTP smuggling attack of 2023).
/// The decoded content keeps the CRLF that precedes the terminating dot line.
/// </summary>
public sealed class DotUnstuffer
{
    private bool _atLineStart = true;

    /// <summary>
    /// Decodes as much of <paramref name="input"/> as possible, writing content to <paramref name="output"/>.
    /// Returns true when the end-of-data line was consumed. <paramref name="consumed"/> tells how much input
    /// was used; unconsumed bytes are an incomplete look-ahead that needs more data.
    /// </summary>
    /// <remarks>
    /// Only a line that starts with "." needs work, so the content between two CRLF "." sequences goes to the
    /// sink in one piece: a 10 KB message is one or two writes, not one per line.
    /// </remarks>
    public bool Decode(ReadOnlySequence<byte> input, IContentSink output, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(input);
        while (!reader.End)
        {
            if (_atLineStart)
            {
                reader.TryPeek(out var first);
                if (first != (byte)'.')
                {
                    _atLineStart = false;
                    continue;
                }

                // ".", ".\r": can't tell a terminator from a stuffed line yet.
                if (reader.Remaining == 1 || (reader.Remaining == 2 && IsCrAt(ref reader, 1)))
                {
                    break;
                }

                if (reader.IsNext(".\r\n"u8, advancePast: true))
                {
                    consumed = reader.Position;
                    _atLineStart = true;
                    return true;
                }

                reader.Advance(1); // the transparency dot
                _atLineStart = false;
                continue;
            }

            var start = reader.Position;
            if (reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n."u8, advancePastDelimiter: false))
            {
                reader.Advance(2); // the CRLF belongs to the content; the dot starts the next line
                output.Write(input.Slice(start, reader.Position));
                _atLineStart = true;
                continue;
            }

            // No CRLF "." ahead. Write it all, except a final CR or CRLF whose meaning the next bytes decide:
            // a trailing CRLF is written and makes the next byte a line start; a lone trailing CR waits.
            var rest = reader.UnreadSequence;
            if (EndsWith(rest, "\r\n"u8))
            {
                output.Write(rest);
                reader.AdvanceToEnd();
                _atLineStart = true;
                break;
            }

            var hold = EndsWith(rest, "\r"u8) ? 1 : 0;
            output.Write(rest.Slice(0, rest.Length - hold));
            reader.Advance(rest.Length - hold);
            break;
        }

        consumed = reader.Position;
        return false;
    }

    private static bool IsCrAt(ref SequenceReader<byte> reader, int offset) =>
        reader.Remaining > offset && reader.UnreadSequence.Slice(offset, 1).FirstSpan[0] == (byte)'\r';

    private static bool EndsWith(in ReadOnlySequence<byte> sequence, ReadOnlySpan<byte> suffix)
    {
        if (sequence.Length < suffix.Length)
        {
            return false;
        }

        Span<byte> tail = stackalloc byte[suffix.Length];
        sequence.Slice(sequence.Length - suffix.Length).CopyTo(tail);
        return tail.SequenceEqual(suffix);
    }
}

/// <summary>Where decoded message bytes go (a spool file, a counter that enforces the size limit, a test buffer).</summary>
public interface IContentSink
{
    void Write(in ReadOnlySequence<byte> content);
}
