using System.Buffers;
using System.Text;
using Beacon.Smtp;

namespace Beacon.Tests.Smtp;

public sealed class DotStufferTests
{
    [Theory]
    [InlineData("Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n")]
    [InlineData("", ".\r\n")]
    [InlineData(".", "..\r\n.\r\n")]
    [InlineData(".\r\n", "..\r\n.\r\n")]
    [InlineData("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n")]
    [InlineData("a\r\n..two\r\n", "a\r\n...two\r\n.\r\n")]
    [InlineData("mid.dot\r\n", "mid.dot\r\n.\r\n")]
    [InlineData("no final line end", "no final line end\r\n.\r\n")]
    [InlineData("a\r\n.", "a\r\n..\r\n.\r\n")]
    public void Dots_at_line_starts_are_doubled_and_the_end_line_added(string content, string wire)
    {
        for (var size = 1; size <= 5; size++)
        {
            Assert.Equal(wire, Stuff(content, size));
        }

        Assert.Equal(wire, Stuff(content, int.MaxValue));
    }

    [Theory]
    [InlineData("a\nb\n", "a\r\nb\r\n.\r\n")]
    [InlineData("a\rb\r", "a\r\nb\r\n.\r\n")]
    [InlineData("a\n.\n", "a\r\n..\r\n.\r\n")] // the smuggling shape "LF . LF" can't survive
    [InlineData("a\r.\r\n", "a\r\n..\r\n.\r\n")]
    [InlineData("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n")]
    [InlineData("\n\n", "\r\n\r\n.\r\n")]
    [InlineData("a\n\r", "a\r\n\r\n.\r\n")]
    public void Bare_cr_and_bare_lf_are_sent_as_crlf(string content, string wire)
    {
        for (var size = 1; size <= 5; size++)
        {
            Assert.Equal(wire, Stuff(content, size));
        }
    }

    [Fact]
    public void Random_content_in_random_pieces_decodes_back_to_its_crlf_form()
    {
        var random = new Random(2920);
        var pieces = new[] { ".", "..", "a", "xyz", "\r\n", "\r", "\n", " ", "\u00e9", ".\r\n" };
        for (var round = 0; round < 3000; round++)
        {
            var builder = new StringBuilder();
            for (var n = random.Next(0, 40); n > 0; n--)
            {
                builder.Append(pieces[random.Next(pieces.Length)]);
            }

            var content = Encoding.UTF8.GetBytes(builder.ToString());
            var wire = StuffBytes(content, random.Next(1, 12));
            Assert.Equal(Crlf(content), Unstuff(wire));
        }
    }

    public static TheoryData<string> Corpus()
    {
        var data = new TheoryData<string>();
        var root = Path.Combine(AppContext.BaseDirectory, "TestData", "enmime");
        foreach (var file in Directory.GetFiles(root, "*.raw", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(root, file));
        }

        return data;
    }

    /// <summary>
    /// Every corpus message, stuffed in odd-sized pieces and unstuffed by the server's decoder, is the original.
    /// Half the corpus has bare LFs: for those "the original" is its CRLF form, which is what the stuffer sends.
    /// </summary>
    [Theory]
    [MemberData(nameof(Corpus))]
    public void Corpus_messages_survive_stuffing_and_unstuffing(string name)
    {
        var original = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "enmime", name));
        var expected = Crlf(original);
        if (expected.Length > 0 && !expected.AsSpan().EndsWith("\r\n"u8))
        {
            expected = [.. expected, (byte)'\r', (byte)'\n'];
        }

        foreach (var piece in new[] { 1, 7, 4096, int.MaxValue })
        {
            Assert.Equal(expected, Unstuff(StuffBytes(original, piece)));
        }
    }

    [Fact]
    public void Counts_the_octets_it_wrote()
    {
        var stuffer = new DotStuffer();
        var output = new ArrayBufferWriter<byte>();
        stuffer.Write(".a\nb"u8, output);
        stuffer.Complete(output);
        Assert.Equal("..a\r\nb\r\n.\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.Equal(output.WrittenCount, stuffer.BytesWritten);
    }

    private static string Stuff(string content, int pieceSize) => Encoding.UTF8.GetString(StuffBytes(Encoding.UTF8.GetBytes(content), pieceSize));

    private static byte[] StuffBytes(byte[] content, int pieceSize)
    {
        var stuffer = new DotStuffer();
        var output = new ArrayBufferWriter<byte>();
        for (var offset = 0; offset < content.Length; offset += pieceSize)
        {
            stuffer.Write(content.AsSpan(offset, Math.Min(pieceSize, content.Length - offset)), output);
        }

        stuffer.Complete(output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Unstuff(byte[] wire)
    {
        var sink = new Sink();
        Assert.True(new DotUnstuffer().Decode(new ReadOnlySequence<byte>(wire), sink, out var consumed));
        Assert.Equal(wire.Length, new ReadOnlySequence<byte>(wire).Slice(0, consumed).Length);
        return [.. sink.Bytes];
    }

    /// <summary>The content with every bare CR and bare LF made a CRLF.</summary>
    private static byte[] Crlf(byte[] content)
    {
        var output = new List<byte>(content.Length);
        for (var i = 0; i < content.Length; i++)
        {
            if (content[i] == (byte)'\r')
            {
                output.Add((byte)'\r');
                output.Add((byte)'\n');
                if (i + 1 < content.Length && content[i + 1] == (byte)'\n')
                {
                    i++;
                }
            }
            else if (content[i] == (byte)'\n')
            {
                output.Add((byte)'\r');
                output.Add((byte)'\n');
            }
            else
            {
                output.Add(content[i]);
            }
        }

        // The stuffer ends an open last line with CRLF before the dot line.
        if (output.Count > 0 && !(output.Count >= 2 && output[^2] == (byte)'\r' && output[^1] == (byte)'\n'))
        {
            output.Add((byte)'\r');
            output.Add((byte)'\n');
        }

        return [.. output];
    }

    private sealed class Sink : IContentSink
    {
        public List<byte> Bytes { get; } = [];

        public void Write(in ReadOnlySequence<byte> content) => Bytes.AddRange(content.ToArray());
    }
}
