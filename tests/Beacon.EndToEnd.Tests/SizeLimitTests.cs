using System.Text;

namespace Beacon.EndToEnd.Tests;

/// <summary>max_message_size is enforced while reading (SIZE=, DATA, BDAT), and nothing of a refused message stays on disk.</summary>
public sealed class SizeLimitTests
{
    private const long Limit = 10_000;

    [Fact]
    public async Task Data_over_the_limit_gets_552_and_nothing_is_spooled()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxMessageSize = Limit);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);

        await client.SendAsync("Subject: big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 98) + "\r\n", 200)) + ".\r\n");

        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", (await client.ReadReplyAsync()).ToString());
        Assert.Empty(beacon.Queue);
        Assert.Equal(0, beacon.Server.Spool.Receiving); // no body of the refused message either
        var rejection = Assert.Single(await beacon.WaitForEventsAsync("policy_rejection"));
        Assert.Equal("rcpt@example.com", (string?)rejection["rcpt_to"]);
        Assert.Equal("552", (string?)rejection["error_code"]);
        Assert.Empty(beacon.ReadEvents("injection"));
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).ToString());
    }

    [Fact]
    public async Task Message_of_exactly_the_advertised_size_is_accepted()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxMessageSize = Limit);
        await using var client = await TestSmtpClient.ConnectAsync(beacon.Smtp);
        Assert.Contains($"SIZE {Limit}", (await client.CommandAsync("EHLO client.example")).Texts);
        var content = "Subject: fits\r\n\r\n" + new string('x', (int)Limit - 19) + "\r\n";
        Assert.Equal(Limit, content.Length);

        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync($"MAIL FROM:<sender@example.org> SIZE={Limit}")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync(content + ".\r\n");

        Assert.Matches("^250 2.0.0 OK [0-9a-f]{20}$", (await client.ReadReplyAsync()).ToString());
        Assert.Equal(content, beacon.ContentText(Assert.Single(beacon.Queue).MessageId));
    }

    [Fact]
    public async Task Chunked_message_of_exactly_the_advertised_size_is_accepted()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxMessageSize = Limit);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());

        await client.SendAsync($"BDAT {Limit} LAST\r\n" + new string('x', (int)Limit));

        Assert.Matches("^250 2.0.0 OK [0-9a-f]{20}$", (await client.ReadReplyAsync()).ToString());
        Assert.Equal(Limit, beacon.Content(Assert.Single(beacon.Queue).MessageId).Length);
    }

    [Fact]
    public async Task A_message_too_large_to_receive_in_memory_is_spooled_whole_and_so_is_the_next_one()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        var line = new string('y', 76) + "\r\n";
        var large = "Subject: large\r\n\r\n" + string.Concat(Enumerable.Repeat(line, 3 * 1024 * 1024 / line.Length));
        var small = "Subject: small\r\n\r\nafter the large one\r\n";
        foreach (var content in new[] { large, small })
        {
            Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
            Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            await client.SendAsync(content + ".\r\n");
            Assert.Matches("^250 2.0.0 OK [0-9a-f]{20}$", (await client.ReadReplyAsync()).ToString());
        }

        var queued = beacon.Queue.ToList();
        Assert.Equal(2, queued.Count);
        Assert.Equal(large, beacon.ContentText(queued[0].MessageId));
        Assert.Equal(small, beacon.ContentText(queued[1].MessageId));
        Assert.Empty(Directory.GetFiles(beacon.Server.Spool.IncomingDir)); // the spill file went with the commit
    }

    [Fact]
    public async Task Mail_from_declaring_a_size_over_the_limit_gets_552()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxMessageSize = Limit);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", (await client.CommandAsync("MAIL FROM:<sender@example.org> SIZE=20000")).ToString());
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org> SIZE=2000")).ToString());
    }

    [Fact]
    public async Task Bdat_over_the_limit_gets_552_and_the_stream_stays_in_step()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxMessageSize = Limit);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());

        var chunk = new string('x', 20_000);
        await client.SendAsync($"BDAT {chunk.Length} LAST\r\n{chunk}");

        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", (await client.ReadReplyAsync()).ToString());
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).ToString());
        Assert.Empty(beacon.Queue);
        Assert.Equal(0, beacon.Server.Spool.Receiving); // no body of the refused message either
        Assert.Equal("552", (string?)Assert.Single(await beacon.WaitForEventsAsync("policy_rejection"))["error_code"]);
    }

    [Fact]
    public async Task Oversized_first_chunk_ends_the_transaction_and_later_chunks_are_skipped()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxMessageSize = Limit);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());

        var chunk = new string('x', 12_000);
        await client.SendAsync(Encoding.ASCII.GetBytes($"BDAT {chunk.Length}\r\n{chunk}BDAT 6 LAST\r\nQUIT\r\n"));

        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", (await client.ReadReplyAsync()).ToString());
        Assert.Equal("503 5.5.1 Need MAIL command", (await client.ReadReplyAsync()).ToString());
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).ToString());
        Assert.Empty(beacon.Queue);
    }
}
