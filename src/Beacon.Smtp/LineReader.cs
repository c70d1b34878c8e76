using System.Buffers;

namespace Beacon.Smtp;

public enum LineStatus
{
    /// <summary>A whole line was read; its bytes exclude the line ending.</summary>
    Line,

    /// <summary>No line ending yet and still within the limit: read more.</summary>
    NeedMore,

    /// <summary>A line longer than the limit ended; its bytes were discarded (RFC 5321 §4.5.3.1.4, reply 500 5.5.2).</summary>
    TooLong,
}

/// <summary>
/// Splits command lines off a byte stream, enforcing the line length limit while reading: an over-long line is
/// dropped as it streams in, never buffered whole. Lines end in CRLF; a bare LF is tolerated as Postfix does.
/// </summary>
public sealed class LineReader(int maxLength)
{
    private bool _discarding;

    public int MaxLength { get; } = maxLength;

    /// <summary>True while the remainder of an over-long line is being skipped.</summary>
    public bool Discarding => _discarding;

    public LineStatus TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> line)
    {
        line = default;
        while (true)
        {
            if (_discarding)
            {
                if (!reader.TryAdvanceTo((byte)'\n'))
                {
                    reader.AdvanceToEnd();
                    return LineStatus.NeedMore;
                }

                _discarding = false;
                return LineStatus.TooLong;
            }

            if (reader.TryReadTo(out ReadOnlySequence<byte> content, (byte)'\n'))
            {
                // MaxLength counts the line ending, as RFC 5321's 512-octet command line does.
                if (content.Length + 1 > MaxLength)
                {
                    return LineStatus.TooLong;
                }

                if (content.Length > 0 && EndsWithCr(content))
                {
                    content = content.Slice(0, content.Length - 1);
                }

                line = content;
                return LineStatus.Line;
            }

            if (reader.Remaining >= MaxLength)
            {
                _discarding = true;
                continue;
            }

            return LineStatus.NeedMore;
        }
    }

    private static bool EndsWithCr(in ReadOnlySequence<byte> content)
    {
        var last = content.Slice(content.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }
}
