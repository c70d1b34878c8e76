using System.Text;

namespace Beacon.EndToEnd.Tests;

public sealed class PipeliningTests
{
    [Fact]
    public async Task Mail_thirty_rcpts_and_data_in_one_write_are_answered_in_order()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        var recipients = Enumerable.Range(1, 30).Select(i => $"rcpt{i}@example.com").ToList();
        var group = new StringBuilder("MAIL FROM:<sender@example.org>\r\n");
        recipients.ForEach(r => group.Append($"RCPT TO:<{r}>\r\n"));
        group.Append("DATA\r\n");

        await client.SendAsync(group.ToString());

        Assert.Equal("250 2.1.0 Sender OK", (await client.ReadReplyAsync()).ToString());
        foreach (var _ in recipients)
        {
            Assert.Equal("250 2.1.5 Recipient OK", (await client.ReadReplyAsync()).ToString());
        }

        Assert.Equal("354 End data with <CR><LF>.<CR><LF>", (await client.ReadReplyAsync()).ToString());
        await client.SendAsync("Subject: pipelined\r\n\r\nHello.\r\n.\r\n");
        var accepted = await client.ReadReplyAsync();
        Assert.Matches("^250 2.0.0 OK [0-9a-f]{20}$", accepted.ToString());

        var message = Assert.Single(beacon.Queue);
        Assert.Equal(accepted.ToString()[^20..], message.MessageId);
        Assert.Equal(recipients, message.Recipients.Select(r => r.Address));
        Assert.Equal("Subject: pipelined\r\n\r\nHello.\r\n", beacon.ContentText(message.MessageId));
        Assert.Equal(30, (await beacon.WaitForEventsAsync("injection", 30)).Count);
    }
}
