using System.Net;
using System.Text;
using Beacon.Smtp;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Beacon.EndToEnd.Tests.Sink;

/// <summary>The sink against real clients (swaks, MailKit): what delivery tests will trust it to record.</summary>
public sealed class TestSinkTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Pipelined_message_from_swaks_is_recorded_byte_exact_after_dot_unstuffing()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback);
        var content = "From: a@example.org\r\nTo: b@example.com\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\tdot tab\r\nend\r\n";
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, content[..^2]); // swaks ends the data with CRLF "." CRLF itself

        var (exit, output) = await SwaksTests.RunAsync("swaks", $"--server {sink.Endpoint} --ehlo client.example --from a@example.org --to b@example.com --pipeline --data {file}");
        File.Delete(file);

        Assert.True(exit == 0, output);
        Assert.Matches(@"<-  250 2\.0\.0 OK queued as sink-1", output);
        var message = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.Equal(content, message.Text);
        Assert.Equal(Encoding.ASCII.GetBytes(content), message.Data);
        Assert.Equal("a@example.org", message.MailFrom);
        Assert.Equal(["b@example.com"], message.Recipients);
        Assert.Equal("client.example", message.EhloName);
        Assert.False(message.Tls);
        Assert.False(message.Chunked);
        Assert.Equal((1, 1), (message.Connection, message.Attempt));
        Assert.Equal((1, 1), (sink.Connections, sink.Transactions));
    }

    [Fact]
    public async Task Mailkit_message_is_recorded_byte_exact()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback);
        using var client = NewClient();
        var mime = NewMessage("rcpt@example.com", "Line one.\r\n.A line with a leading dot.\r\nÜnïcödé in 8 bits.\r\n");

        await client.ConnectAsync(sink.Endpoint.Address.ToString(), sink.Endpoint.Port, SecureSocketOptions.None);
        await client.SendAsync(mime);
        await client.DisconnectAsync(quit: true);

        var message = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.False(message.Chunked); // MailKit uses BDAT only for BINARYMIME, which Beacon.Smtp does not offer
        Assert.Equal("8BITMIME", message.MailParameters["BODY"]);
        Assert.Equal(Serialize(mime), message.Data);
        Assert.Contains("\r\n.A line with a leading dot.\r\n", message.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bdat_chunks_are_recorded_joined_and_unaltered()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback);
        await using var client = await TestSmtpClient.ConnectAsync(sink.Endpoint);
        Assert.Contains("CHUNKING", (await client.CommandAsync("EHLO client.example")).Texts);

        await client.SendAsync("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 12\r\nSubject: x\r\n");
        Assert.Equal("250 2.1.0 Sender OK", (await client.ReadReplyAsync()).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.ReadReplyAsync()).ToString());
        Assert.Equal("250 2.0.0 12 octets received", (await client.ReadReplyAsync()).ToString());
        await client.SendAsync("BDAT 10 LAST\r\n\r\n.dot\r\n\r\n");
        Assert.Equal("250 2.0.0 OK queued as sink-1", (await client.ReadReplyAsync()).ToString());

        var message = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.True(message.Chunked);
        Assert.Equal("Subject: x\r\n\r\n.dot\r\n\r\n", message.Text);
    }

    [Fact]
    public async Task Scripted_450_at_rcpt_on_the_first_attempt_then_250_on_the_second()
    {
        var seen = new List<SinkRecipient>();
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback, options: new TestSinkOptions
        {
            OnRcpt = r =>
            {
                lock (seen)
                {
                    seen.Add(r);
                }

                return r.Attempt == 1 ? new SmtpReply(450, "4.2.1", "Try again later") : null;
            },
        });
        var swaks = $"--server {sink.Endpoint} --from a@example.org --to b@example.com --body hello";

        var (firstExit, first) = await SwaksTests.RunAsync("swaks", swaks);
        var (secondExit, second) = await SwaksTests.RunAsync("swaks", swaks);

        Assert.NotEqual(0, firstExit);
        Assert.Contains("<** 450 4.2.1 Try again later", first);
        Assert.True(secondExit == 0, second);
        var message = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.Equal(["b@example.com"], message.Recipients);
        Assert.Equal(2, message.Connection);
        Assert.Equal([(1, 1), (2, 2)], seen.Select(r => (r.Attempt, r.Connection)));
        Assert.All(seen, r => Assert.Equal(("b@example.com", "a@example.org"), (r.Address, r.MailFrom)));
        Assert.Equal((2, 1), (sink.Connections, sink.Transactions));
    }

    [Fact]
    public async Task Scripted_451_at_end_of_data_then_250_on_one_reused_connection()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback, options: new TestSinkOptions
        {
            OnData = m => m.Attempt == 1 ? new SmtpReply(451, "4.3.0", "Temporary failure") : null,
        });
        using var client = NewClient();
        await client.ConnectAsync(sink.Endpoint.Address.ToString(), sink.Endpoint.Port, SecureSocketOptions.None);

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(NewMessage("rcpt@example.com", "first\r\n")));
        var accepted = await client.SendAsync(NewMessage("rcpt@example.com", "second\r\n"));
        await client.DisconnectAsync(quit: true);

        Assert.Equal(451, (int)refused.StatusCode);
        Assert.Equal("2.0.0 OK queued as sink-2", accepted);
        var message = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.Equal(2, message.Attempt);
        Assert.EndsWith("second\r\n", message.Text, StringComparison.Ordinal);
        Assert.EndsWith("first\r\n", Assert.Single(sink.RefusedMessages).Text, StringComparison.Ordinal);
        Assert.Equal((1, 2), (sink.Connections, sink.Transactions));
    }

    [Fact]
    public async Task Scripted_550_for_one_recipient_of_two_delivers_to_the_other()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback, options: new TestSinkOptions
        {
            OnRcpt = r => r.Address.StartsWith("unknown@", StringComparison.Ordinal) ? new SmtpReply(550, "5.1.1", "No such user") : null,
        });

        var (exit, output) = await SwaksTests.RunAsync("swaks", $"--server {sink.Endpoint} --from a@example.org --to known@example.com,unknown@example.com --pipeline --body hello");

        Assert.True(exit == 0, output);
        Assert.Contains("<** 550 5.1.1 No such user", output);
        var message = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.Equal(["known@example.com"], message.Recipients);
    }

    [Fact]
    public async Task Two_sinks_on_127_0_0_2_and_127_0_0_3_share_one_port_and_record_apart()
    {
        var sinks = await TestSink.StartOnOnePortAsync([IPAddress.Parse("127.0.0.2"), IPAddress.Parse("127.0.0.3")]);
        await using var second = sinks[0];
        await using var third = sinks[1];

        foreach (var (sink, rcpt) in new[] { (second, "two@example.com"), (third, "three@example.com") })
        {
            var (exit, output) = await SwaksTests.RunAsync("swaks", $"--server {sink.Endpoint.Address} --port {sink.Endpoint.Port} --from a@example.org --to {rcpt} --body hello");
            Assert.True(exit == 0, output);
        }

        Assert.Equal(second.Endpoint.Port, third.Endpoint.Port);
        Assert.Equal(["two@example.com"], Assert.Single(await second.WaitForMessagesAsync(1, Timeout)).Recipients);
        Assert.Equal(["three@example.com"], Assert.Single(await third.WaitForMessagesAsync(1, Timeout)).Recipients);
    }

    [Fact]
    public async Task Starttls_is_offered_and_recorded_when_configured()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback, options: new TestSinkOptions { StartTls = true });

        var (exit, output) = await SwaksTests.RunAsync("swaks", $"--server {sink.Endpoint} --ehlo client.example --from a@example.org --to b@example.com --tls --body hello");

        Assert.True(exit == 0, output);
        var message = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.True(message.Tls);
        Assert.Equal("client.example", message.EhloName);
    }

    [Fact]
    public async Task Extensions_left_out_are_not_advertised_nor_accepted()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback, options: new TestSinkOptions { SmtpUtf8 = false, Chunking = false });
        await using var client = await TestSmtpClient.ConnectAsync(sink.Endpoint);

        var ehlo = await client.CommandAsync("EHLO client.example");

        Assert.Contains("PIPELINING", ehlo.Texts);
        Assert.Contains("8BITMIME", ehlo.Texts);
        Assert.DoesNotContain("SMTPUTF8", ehlo.Texts);
        Assert.DoesNotContain("CHUNKING", ehlo.Texts);
        Assert.DoesNotContain("STARTTLS", ehlo.Texts);
        Assert.Equal("555 5.5.4 Unsupported option: SMTPUTF8", (await client.CommandAsync("MAIL FROM:<a@example.org> SMTPUTF8")).ToString());
    }

    private static SmtpClient NewClient() => new(new ProtocolLogger(Stream.Null))
    {
        ServerCertificateValidationCallback = (_, _, _, _) => true,
        CheckCertificateRevocation = false,
        Timeout = 10_000,
    };

    private static MimeMessage NewMessage(string to, string text)
    {
        var message = new MimeMessage { Subject = "hello" };
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(new MailboxAddress(string.Empty, to));
        message.Body = new TextPart("plain") { Text = text, ContentTransferEncoding = ContentEncoding.EightBit };
        return message;
    }

    /// <summary>The message as MailKit puts it on the wire (after SendAsync prepared it), before dot-stuffing.</summary>
    private static byte[] Serialize(MimeMessage message)
    {
        using var bytes = new MemoryStream();
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        message.WriteTo(format, bytes);
        return bytes.ToArray();
    }
}
