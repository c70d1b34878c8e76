using System.Diagnostics;
using System.Text;

namespace Beacon.EndToEnd.Tests;

/// <summary>Timeouts, disconnects, connection limits and shutdown: what a session does when the client or the server goes away.</summary>
public sealed class ConnectionTests
{
    [Fact]
    public async Task Client_trickling_a_command_gets_421_at_the_command_timeout()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.CommandTimeout = 2);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        var trickle = Encoding.ASCII.GetBytes("NOOP " + new string('x', 40) + "\r\n");
        var clock = Stopwatch.StartNew();

        // One byte, then up to 300 ms listening for the server's answer, and so on (12 s for the whole line).
        TestReply? reply = null;
        for (var i = 0; i < trickle.Length && reply is null; i++)
        {
            await client.SendAsync(trickle[i..(i + 1)]);
            reply = await client.TryReadReplyAsync(TimeSpan.FromMilliseconds(300));
        }

        Assert.Equal("421 4.4.2 Command timeout exceeded, closing connection", reply?.ToString());
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(5));
        Assert.True(await client.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Client_disconnecting_mid_data_leaves_nothing_behind()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using (var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp))
        {
            Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
            Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            await client.SendAsync("Subject: cut short\r\n\r\nhalf a mess");
            await BeaconInstance.WaitUntilAsync(() => beacon.Server.Spool.Receiving == 1, "the body to be started");
        }

        await BeaconInstance.WaitUntilAsync(() => beacon.Server.Spool.Receiving == 0, "the unacknowledged body to be dropped");
        Assert.Empty(beacon.Queue);

        await using var next = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal("250 2.1.0 Sender OK", (await next.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await next.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
        Assert.Equal(354, (await next.CommandAsync("DATA")).Code);
        Assert.Matches("^250 2.0.0 OK [0-9a-f]{20}$", (await next.CommandAsync("Subject: whole\r\n\r\nok\r\n.")).ToString());
        Assert.Single(beacon.Queue);
    }

    [Fact]
    public async Task Connection_over_max_connections_is_greeted_with_421()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxConnections = 1);
        await using var first = await TestSmtpClient.ConnectAsync(beacon.Smtp);

        await using var second = await TestSmtpClient.OpenAsync(beacon.Smtp);
        Assert.Equal("421 4.3.2 Too many connections, try again later", (await second.ReadReplyAsync()).ToString());
        Assert.True(await second.IsClosedByServerAsync());

        Assert.Equal("250 2.0.0 OK", (await first.CommandAsync("NOOP")).ToString());
    }

    [Fact]
    public async Task Closed_connection_frees_its_place_under_max_connections()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxConnections = 1);
        await using (var first = await TestSmtpClient.ConnectAsync(beacon.Smtp))
        {
            Assert.Equal("221 2.0.0 Bye", (await first.CommandAsync("QUIT")).ToString());
            Assert.True(await first.IsClosedByServerAsync());
        }

        // The server releases the place just after it closes the socket: retry until a greeting is 220.
        var greeting = string.Empty;
        await BeaconInstance.WaitUntilAsync(
            async () =>
            {
                await using var probe = await TestSmtpClient.OpenAsync(beacon.Smtp);
                greeting = (await probe.ReadReplyAsync()).ToString();
                return greeting.StartsWith("220 ", StringComparison.Ordinal);
            },
            "a new connection to be greeted with 220");
        Assert.Equal("220 e2e ESMTP Beacon", greeting);
    }

    [Fact]
    public async Task Shutdown_sends_421_to_an_idle_session_and_keeps_what_was_accepted()
    {
        var beacon = await BeaconInstance.StartAsync();
        await using (beacon)
        {
            await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
            Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
            Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            var accepted = await client.CommandAsync("Subject: before shutdown\r\n\r\nkept\r\n.");
            Assert.Matches("^250 2.0.0 OK [0-9a-f]{20}$", accepted.ToString());

            var stopping = beacon.Server.StopAsync();

            Assert.Equal("421 4.3.2 Service shutting down, try again later", (await client.ReadReplyAsync()).ToString());
            Assert.True(await client.IsClosedByServerAsync());
            await stopping.WaitAsync(TimeSpan.FromSeconds(10));

            var message = Assert.Single(beacon.Queue);
            Assert.Equal(accepted.ToString()[^20..], message.MessageId);
            Assert.Equal("Subject: before shutdown\r\n\r\nkept\r\n", beacon.ContentText(message.MessageId));
            Assert.Single(beacon.ReadEvents("injection")); // the pipeline was drained before StopAsync returned
        }
    }
}
