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
    private bool _previousWasCr;

    /// <summary>
    /// Decodes as much of <paramref name="input"/> as possible, writing content to <paramref name="output"/>.
    /// Returns true when the end-of-data line was consumed. <paramref name="consumed"/> tells how much input
    /// was used; unconsumed bytes are an incomplete look-ahead that needs more data.
    /// </summary>
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

                if (reader.Remaining < 3)
                {
                    // ".", ".\r": can't tell a terminator from a stuffed line yet.
                    if (reader.Remaining == 1 || IsCrAt(ref reader, 1))
                    {
                        consumed = reader.Position;
                        return false;
                    }
                }

                if (reader.IsNext(".\r\n"u8, advancePast: true))
                {
                    consumed = reader.Position;
                    _atLineStart = true;
                    _previousWasCr = false;
                    return true;
                }

                reader.Advance(1); // the transparency dot
                _atLineStart = false;
                _previousWasCr = false;
                continue;
            }

            var rest = reader.UnreadSequence;
            var lf = rest.PositionOf((byte)'\n');
            if (lf is null)
            {
                output.Write(rest);
                _previousWasCr = EndsWith(rest, (byte)'\r');
                reader.AdvanceToEnd();
                break;
            }

            var line = rest.Slice(0, rest.GetPosition(1, lf.Value));
            output.Write(line);
            var crBeforeLf = line.Length >= 2 ? EndsWith(line.Slice(0, line.Length - 1), (byte)'\r') : _previousWasCr;
            _atLineStart = crBeforeLf;
            _previousWasCr = false;
            reader.Advance(line.Length);
        }

        consumed = reader.Position;
        return false;
    }

    private static bool IsCrAt(ref SequenceReader<byte> reader, int offset) =>
        reader.Remaining > offset && reader.UnreadSequence.Slice(offset, 1).FirstSpan[0] == (byte)'\r';

    private static bool EndsWith(in ReadOnlySequence<byte> sequence, byte value) =>
        sequence.Length > 0 && sequence.Slice(sequence.Length - 1).FirstSpan[0] == value;
}

/// <summary>Where decoded message bytes go (a spool file, a counter that enforces the size limit, a test buffer).</summary>
public interface IContentSink
{
    void Write(in ReadOnlySequence<byte> content);
}
