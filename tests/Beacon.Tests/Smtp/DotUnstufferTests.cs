using System.Buffers;
using System.Text;
using Beacon.Smtp;

namespace Beacon.Tests.Smtp;

public sealed class DotUnstufferTests
{
    [Theory]
    [InlineData("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n")]
    [InlineData("..leading dot\r\n.\r\n", ".leading dot\r\n")]
    [InlineData(".\r\n", "")]
    [InlineData("a\r\n...\r\n.\r\n", "a\r\n..\r\n")]
    [InlineData("a\r\n.x\r\n.\r\n", "a\r\nx\r\n")]
    [InlineData("mid.dot\r\n.\r\n", "mid.dot\r\n")]
    public void Removes_transparency_dots_and_stops_at_the_dot_line(string wire, string content)
    {
        Assert.Equal((content, true, 0), Decode(wire, chunkSize: int.MaxValue));
        for (var size = 1; size <= 4; size++)
        {
            Assert.Equal((content, true, 0), Decode(wire, size));
        }
    }

    [Theory]
    [InlineData("a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n")] // bare LF then dot: not a line start (SMTP smuggling)
    [InlineData("a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n")] // ".\n" is a stuffed line, not the end
    [InlineData("a\r.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n")] // bare CR doesn't start a line either
    public void Only_crlf_dot_crlf_ends_the_data(string wire, string content)
    {
        Assert.Equal((content, true, 0), Decode(wire, int.MaxValue));
        Assert.Equal((content, true, 0), Decode(wire, 1));
    }

    [Fact]
    public void Bytes_after_the_end_are_left_for_the_next_command()
    {
        Assert.Equal(("x\r\n", true, 6), Decode("x\r\n.\r\nQUIT\r\n", int.MaxValue));
    }

    [Fact]
    public void Without_the_end_line_nothing_ends()
    {
        var (content, ended, _) = Decode("x\r\n.", 2);
        Assert.False(ended);
        Assert.Equal("x\r\n", content);
    }

    [Fact]
    public void Random_content_stuffed_by_a_client_decodes_back_exactly_whatever_the_chunking()
    {
        var random = new Random(5321);
        for (var round = 0; round < 2000; round++)
        {
            var content = RandomContent(random);
            var (decoded, ended, left) = Decode(Stuff(content) + "QUIT\r\n", random.Next(1, 40));
            Assert.True(ended, $"round {round}");
            Assert.Equal(content, decoded);
            Assert.Equal(6, left);
        }
    }

    /// <summary>What an RFC 5321 client sends: a dot added to every line that starts with one, then CRLF "." CRLF.</summary>
    private static string Stuff(string content)
    {
        var builder = new System.Text.StringBuilder();
        var lineStart = true;
        for (var i = 0; i < content.Length; i++)
        {
            if (lineStart && content[i] == '.')
            {
                builder.Append('.');
            }

            builder.Append(content[i]);
            lineStart = content[i] == '\n' && i > 0 && content[i - 1] == '\r';
        }

        return builder + (content.Length == 0 || content.EndsWith("\r\n", StringComparison.Ordinal) ? string.Empty : "\r\n") + ".\r\n";
    }

    private static string RandomContent(Random random)
    {
        var pieces = new[] { ".", "..", "a", "xyz", "\r\n", "\r", "\n", " ", "\u00e9" };
        var builder = new System.Text.StringBuilder();
        for (var n = random.Next(0, 60); n > 0; n--)
        {
            builder.Append(pieces[random.Next(pieces.Length)]);
        }

        // A client ends the content with CRLF before the dot line; make that part of the content.
        if (builder.Length > 0 && !builder.ToString().EndsWith("\r\n", StringComparison.Ordinal))
        {
            builder.Append("\r\n");
        }

        return builder.ToString();
    }

    /// <summary>Feeds <paramref name="wire"/> in pieces, the way a socket would, keeping unconsumed look-ahead.</summary>
    private static (string Content, bool Ended, int Left) Decode(string wire, int chunkSize)
    {
        var bytes = Encoding.Latin1.GetBytes(wire);
        var decoder = new DotUnstuffer();
        var sink = new Sink();
        var buffered = new List<byte>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            var take = Math.Min(chunkSize, bytes.Length - offset);
            buffered.AddRange(bytes.AsSpan(offset, take).ToArray());
            offset += take;
            var sequence = new ReadOnlySequence<byte>(buffered.ToArray());
            var ended = decoder.Decode(sequence, sink, out var consumed);
            buffered = [.. sequence.Slice(consumed).ToArray()];
            if (ended)
            {
                return (Encoding.Latin1.GetString(sink.Bytes.ToArray()), true, buffered.Count + bytes.Length - offset);
            }
        }

        return (Encoding.Latin1.GetString(sink.Bytes.ToArray()), false, buffered.Count);
    }

    private sealed class Sink : IContentSink
    {
        public List<byte> Bytes { get; } = [];

        public void Write(in ReadOnlySequence<byte> content) => Bytes.AddRange(content.ToArray());
    }
}
