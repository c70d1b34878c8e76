using System.Buffers;
using System.Text;
using Beacon.Smtp;

namespace Beacon.Tests.Smtp;

public sealed class LineReaderTests
{
    [Fact]
    public void Splits_pipelined_lines_and_tolerates_bare_lf()
    {
        var (lines, rest) = ReadAll(new LineReader(512), "EHLO a\r\nNOOP\nRSET\r\nQUI");
        Assert.Equal(["EHLO a", "NOOP", "RSET"], lines);
        Assert.Equal("QUI", rest);
    }

    [Fact]
    public void An_over_long_line_is_dropped_while_it_streams_and_reported_once_it_ends()
    {
        var reader = new LineReader(16);
        var (lines, rest) = ReadAll(reader, new string('A', 40));
        Assert.Empty(lines);
        Assert.Equal(string.Empty, rest); // nothing buffered: the excess was consumed, not kept
        Assert.True(reader.Discarding);

        var status = Read(reader, "AAAA\r\nNOOP\r\n", out var line, out var consumed);
        Assert.Equal(LineStatus.TooLong, status);
        Assert.Equal(6, consumed);
        Assert.Equal(LineStatus.Line, Read(reader, "NOOP\r\n", out line, out _));
        Assert.Equal("NOOP", line);
    }

    [Fact]
    public void The_limit_counts_the_line_ending()
    {
        Assert.Equal(LineStatus.Line, Read(new LineReader(6), "NOOP\r\n", out _, out _));
        Assert.Equal(LineStatus.TooLong, Read(new LineReader(6), "NOOPX\r\n", out _, out _));
    }

    private static LineStatus Read(LineReader reader, string input, out string line, out long consumed)
    {
        var sequence = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(input)));
        var status = reader.TryReadLine(ref sequence, out var bytes);
        line = Encoding.ASCII.GetString(bytes.ToArray());
        consumed = sequence.Consumed;
        return status;
    }

    private static (List<string> Lines, string Remainder) ReadAll(LineReader reader, string input)
    {
        var sequence = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(input)));
        var lines = new List<string>();
        while (reader.TryReadLine(ref sequence, out var line) == LineStatus.Line)
        {
            lines.Add(Encoding.ASCII.GetString(line.ToArray()));
        }

        return (lines, Encoding.ASCII.GetString(sequence.UnreadSequence.ToArray()));
    }
}
