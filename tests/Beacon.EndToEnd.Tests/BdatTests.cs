using System.Text;

namespace Beacon.EndToEnd.Tests;

/// <summary>CHUNKING (RFC 3030): chunks are counted octets, stored as they are.</summary>
public sealed class BdatTests
{
    [Fact]
    public async Task Two_chunks_are_stored_byte_for_byte_without_dot_unstuffing()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        byte[] first = [.. "Subject: chunks\r\n\r\nbare LF here\n.leading dot\r\n"u8, 0xE9, 0xFF, 0x80, (byte)'\n'];
        byte[] second = [.. "..two dots\r\n.\r\n"u8, 0xC3, 0xA9, .. "end without CRLF"u8];

        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org> BODY=8BITMIME")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
        await client.SendAsync([.. Encoding.ASCII.GetBytes($"BDAT {first.Length}\r\n"), .. first]);
        Assert.Equal($"250 2.0.0 {first.Length} octets received", (await client.ReadReplyAsync()).ToString());
        await client.SendAsync([.. Encoding.ASCII.GetBytes($"BDAT {second.Length} LAST\r\n"), .. second]);
        Assert.Matches("^250 2.0.0 OK [0-9a-f]{20}$", (await client.ReadReplyAsync()).ToString());

        var message = Assert.Single(beacon.Queue);
        Assert.Equal([.. first, .. second], beacon.Content(message.MessageId));
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).ToString());
    }

    [Fact]
    public async Task Bdat_without_recipients_is_refused_and_its_chunk_skipped()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        var chunk = "RSET\r\nQUIT\r\n"; // would end the session if it were read as commands

        await client.SendAsync($"BDAT {chunk.Length}\r\n{chunk}");
        Assert.Equal("503 5.5.1 Need MAIL command", (await client.ReadReplyAsync()).ToString());
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        await client.SendAsync($"BDAT {chunk.Length} LAST\r\n{chunk}");
        Assert.Equal("554 5.5.1 No valid recipients", (await client.ReadReplyAsync()).ToString());

        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).ToString());
        Assert.Empty(beacon.Queue);
        Assert.Equal(0, beacon.Server.Spool.Receiving); // no body of the refused message either
    }
}
