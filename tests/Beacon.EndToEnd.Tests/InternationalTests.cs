namespace Beacon.EndToEnd.Tests;

/// <summary>8BITMIME (RFC 6152) and SMTPUTF8 (RFC 6531) over a raw socket.</summary>
public sealed class InternationalTests
{
    [Fact]
    public async Task Eight_bit_body_is_stored_byte_for_byte()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        byte[] content = [.. "Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"u8, .. "Grüße, 日本語\r\n"u8, .. "Latin-1: "u8, 0xE9, 0xE8, 0xFC, .. "\r\n"u8];

        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org> BODY=8BITMIME")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync([.. content, .. ".\r\n"u8]);
        Assert.Matches("^250 2.0.0 OK [0-9a-f]{20}$", (await client.ReadReplyAsync()).ToString());

        var message = Assert.Single(beacon.Queue);
        Assert.True(message.EightBitMime);
        Assert.Equal(content, beacon.Content(message.MessageId));
    }

    [Fact]
    public async Task Non_ascii_addresses_without_smtputf8_get_553()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        Assert.Equal("553 5.6.7 Non-ASCII sender address requires SMTPUTF8", (await client.CommandAsync("MAIL FROM:<用户@例子.example>")).ToString());
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        Assert.Equal("553 5.6.7 Non-ASCII recipient address requires SMTPUTF8", (await client.CommandAsync("RCPT TO:<用户@例子.example>")).ToString());

        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("RSET")).ToString());
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org> SMTPUTF8")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<用户@例子.example>")).ToString());
    }
}
