using System.Buffers;
using System.Text;
using Beacon.Smtp;

namespace Beacon.Tests.Smtp;

public sealed class SmtpReplyParserTests
{
    [Theory]
    [InlineData("220 mx.example.net ESMTP Postfix\r\n", 220, null, "mx.example.net ESMTP Postfix")]
    [InlineData("250 2.1.0 Ok\r\n", 250, "2.1.0", "Ok")]
    [InlineData("550 5.1.1 <nobody@example.com>: Recipient address rejected\r\n", 550, "5.1.1", "<nobody@example.com>: Recipient address rejected")]
    [InlineData("354 End data with <CR><LF>.<CR><LF>\r\n", 354, null, "End data with <CR><LF>.<CR><LF>")]
    [InlineData("250\r\n", 250, null, "")]
    [InlineData("250 \r\n", 250, null, "")]
    [InlineData("451 4.3.0\r\n", 451, "4.3.0", "")]
    [InlineData("250 OK\n", 250, null, "OK")] // bare LF tolerated
    [InlineData("250 5.1.0 class differs from the code, so it is text\r\n", 250, null, "5.1.0 class differs from the code, so it is text")]
    [InlineData("250 2.1234.0 subject too long, text\r\n", 250, null, "2.1234.0 subject too long, text")]
    [InlineData("235 2.7.0 Authentication successful\r\n", 235, "2.7.0", "Authentication successful")]
    public void One_line_replies(string wire, int code, string? enhanced, string text)
    {
        var reply = ParseWhole(wire);
        Assert.Equal(code, reply.Code);
        Assert.Equal(enhanced, reply.Enhanced);
        Assert.Equal(text, Assert.Single(reply.Lines));
    }

    [Fact]
    public void A_multiline_ehlo_reply_keeps_every_line_in_order()
    {
        var reply = ParseWhole("250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
        Assert.Equal(250, reply.Code);
        Assert.Null(reply.Enhanced);
        Assert.Equal(["mx.example.net", "PIPELINING", "SIZE 10240000", "STARTTLS", "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"], reply.Lines);
    }

    [Fact]
    public void The_enhanced_code_repeated_on_every_line_is_taken_once()
    {
        var reply = ParseWhole("550-5.7.1 Service unavailable; client host blocked\r\n550-5.7.1 see https://example.net/why\r\n550 5.7.1 contact postmaster\r\n");
        Assert.Equal("5.7.1", reply.Enhanced);
        Assert.Equal(["Service unavailable; client host blocked", "see https://example.net/why", "contact postmaster"], reply.Lines);
        Assert.Equal("550-5.7.1 Service unavailable; client host blocked\r\n550-5.7.1 see https://example.net/why\r\n550 5.7.1 contact postmaster", reply.ToString());
    }

    [Fact]
    public void Round_trips_what_the_server_side_writes()
    {
        var written = new SmtpReply(452, "4.5.3", ["Too many recipients", "try again later"]);
        var buffer = new ArrayBufferWriter<byte>();
        written.WriteTo(buffer);
        var parsed = ParseWhole(Encoding.UTF8.GetString(buffer.WrittenSpan));
        Assert.Equal(written.ToString(), parsed.ToString());
        Assert.Equal(written.Lines, parsed.Lines);
    }

    [Theory]
    [InlineData("")]
    [InlineData("25")]
    [InlineData("250 OK")]
    [InlineData("250 OK\r")]
    [InlineData("250-first\r\n")]
    [InlineData("250-first\r\n250 la")]
    public void Incomplete_replies_need_more_and_consume_nothing(string wire)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(wire)));
        Assert.False(SmtpReplyParser.TryParse(ref reader, out var reply, out var rejection));
        Assert.Null(reply);
        Assert.Equal(ReplyRejection.None, rejection);
        Assert.Equal(0, reader.Consumed);
    }

    [Fact]
    public void Two_replies_in_one_buffer_are_read_one_at_a_time()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n"u8.ToArray()));
        Assert.True(SmtpReplyParser.TryParse(ref reader, out var mail, out _));
        Assert.True(SmtpReplyParser.TryParse(ref reader, out var rcpt, out _));
        Assert.True(SmtpReplyParser.TryParse(ref reader, out var data, out _));
        Assert.Equal(["250 2.1.0 Ok", "250 2.1.5 Ok", "354 go"], new[] { mail, rcpt, data }.Select(r => r!.ToString()));
        Assert.True(reader.End);
    }

    [Theory]
    [InlineData("2\r\n", ReplyRejection.TooShort)]
    [InlineData("\r\n", ReplyRejection.TooShort)]
    [InlineData("25O OK\r\n", ReplyRejection.NonDigit)]
    [InlineData("HTTP/1.1 400 Bad Request\r\n", ReplyRejection.NonDigit)]
    [InlineData("SSH-2.0-OpenSSH_9.6\r\n", ReplyRejection.NonDigit)]
    [InlineData("150 preliminary\r\n", ReplyRejection.BadCode)]
    [InlineData("650 six\r\n", ReplyRejection.BadCode)]
    [InlineData("270 second digit\r\n", ReplyRejection.BadCode)]
    [InlineData("250_OK\r\n", ReplyRejection.BadSeparator)]
    [InlineData("2500 OK\r\n", ReplyRejection.BadSeparator)]
    [InlineData("250-first\r\n251 second\r\n", ReplyRejection.MixedCodes)]
    [InlineData("250-first\r\n550 second\r\n", ReplyRejection.MixedCodes)]
    [InlineData("250-first\r\nhello\r\n", ReplyRejection.NonDigit)]
    public void Malformed_replies_are_rejected_with_a_reason(string wire, ReplyRejection expected)
    {
        Assert.Equal(expected, Reject(wire));
    }

    [Fact]
    public void A_line_at_the_limit_is_accepted_and_one_octet_more_is_rejected()
    {
        var atLimit = "250 " + new string('x', SmtpReplyParser.MaxLineLength - 6) + "\r\n";
        Assert.Equal(SmtpReplyParser.MaxLineLength, atLimit.Length);
        Assert.Equal(250, ParseWhole(atLimit).Code);
        Assert.Equal(ReplyRejection.LineTooLong, Reject("250 " + new string('x', SmtpReplyParser.MaxLineLength - 5) + "\r\n"));
    }

    [Fact]
    public void An_endless_line_is_rejected_before_its_end_arrives()
    {
        // No line ending at all: the parser must not wait (and buffer) for one.
        Assert.Equal(ReplyRejection.LineTooLong, Reject("250 " + new string('x', SmtpReplyParser.MaxLineLength)));
    }

    [Fact]
    public void A_hundred_lines_are_accepted_and_the_hundred_and_first_is_rejected_before_it_ends()
    {
        var hundred = string.Concat(Enumerable.Repeat("250-x\r\n", SmtpReplyParser.MaxLines - 1)) + "250 last\r\n";
        Assert.Equal(SmtpReplyParser.MaxLines, ParseWhole(hundred).Lines.Count);
        Assert.Equal(ReplyRejection.TooManyLines, Reject(string.Concat(Enumerable.Repeat("250-x\r\n", SmtpReplyParser.MaxLines))));
    }

    [Theory]
    [InlineData("250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250 2.0.0 SMTPUTF8\r\n")]
    [InlineData("550-5.7.1 first\r\n550 5.7.1 last\r\n")]
    [InlineData("220 mx ESMTP \u00e9t\u00e9\r\n")]
    public void Fed_byte_by_byte_the_reply_is_the_same(string wire)
    {
        var whole = ParseWhole(wire);
        var bytes = Encoding.UTF8.GetBytes(wire);
        var buffered = new List<byte>();
        SmtpReply? reply = null;
        foreach (var b in bytes)
        {
            Assert.Null(reply);
            buffered.Add(b);

            // A sequence of one-byte segments: every boundary is a buffer boundary.
            var reader = new SequenceReader<byte>(Segments(buffered));
            if (SmtpReplyParser.TryParse(ref reader, out reply, out var rejection))
            {
                Assert.True(reader.End);
            }
            else
            {
                Assert.Equal(ReplyRejection.None, rejection);
            }
        }

        Assert.NotNull(reply);
        Assert.Equal(whole.ToString(), reply.ToString());
        Assert.Equal(whole.Lines, reply.Lines);
    }

    [Fact]
    public void Capabilities_are_read_from_an_ehlo_reply()
    {
        var caps = EhloCapabilities.Parse(ParseWhole("250-mx.example.net Hello\r\n250-pipelining\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN CRAM-MD5\r\n250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n"));
        Assert.True(caps.Pipelining);
        Assert.True(caps.Size);
        Assert.Equal(52428800, caps.MaxSize);
        Assert.True(caps.EightBitMime);
        Assert.True(caps.SmtpUtf8);
        Assert.True(caps.StartTls);
        Assert.True(caps.Chunking);
        Assert.True(caps.EnhancedStatusCodes);
        Assert.Equal(["PLAIN", "LOGIN", "CRAM-MD5"], caps.AuthMechanisms);
        Assert.False(caps.Supports("mx.example.net"));
    }

    [Fact]
    public void A_minimal_ehlo_reply_and_helo_have_no_extensions()
    {
        var caps = EhloCapabilities.Parse(ParseWhole("250 mx.example.net\r\n"));
        Assert.False(caps.Pipelining || caps.Size || caps.EightBitMime || caps.SmtpUtf8 || caps.StartTls || caps.Chunking || caps.EnhancedStatusCodes);
        Assert.Empty(caps.AuthMechanisms);
        Assert.Empty(EhloCapabilities.None.Keywords);
    }

    [Theory]
    [InlineData("250-mx\r\n250 SIZE\r\n")]
    [InlineData("250-mx\r\n250 SIZE 0\r\n")]
    public void Size_without_a_limit(string wire)
    {
        var caps = EhloCapabilities.Parse(ParseWhole(wire));
        Assert.True(caps.Size);
        Assert.Null(caps.MaxSize);
    }

    private static SmtpReply ParseWhole(string wire)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(wire)));
        Assert.True(SmtpReplyParser.TryParse(ref reader, out var reply, out var rejection), $"rejected: {rejection}");
        Assert.True(reader.End);
        return reply!;
    }

    private static ReplyRejection Reject(string wire)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(wire)));
        Assert.False(SmtpReplyParser.TryParse(ref reader, out var reply, out var rejection));
        Assert.Null(reply);
        return rejection;
    }

    private static ReadOnlySequence<byte> Segments(IReadOnlyList<byte> bytes)
    {
        var first = new Segment(new[] { bytes[0] }, 0);
        var last = first;
        for (var i = 1; i < bytes.Count; i++)
        {
            last = last.Append(bytes[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, 1);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte value)
        {
            var next = new Segment(new[] { value }, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
