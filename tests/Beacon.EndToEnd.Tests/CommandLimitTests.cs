namespace Beacon.EndToEnd.Tests;

/// <summary>Protocol errors and per-session limits, as a client sees them on the wire.</summary>
public sealed class CommandLimitTests
{
    [Fact]
    public async Task Over_long_command_line_gets_500_and_the_session_continues()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxLineLength = 512);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        Assert.Equal("500 5.5.2 Line too long", (await client.CommandAsync("MAIL FROM:<" + new string('a', 600) + "@example.org>")).ToString());
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
    }

    [Fact]
    public async Task Unknown_command_gets_500_5_5_1()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        Assert.Equal("500 5.5.1 Command unrecognized", (await client.CommandAsync("FROBNICATE now")).ToString());
        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("NOOP")).ToString());
    }

    [Fact]
    public async Task Rcpt_before_mail_gets_503()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        Assert.Equal("503 5.5.1 Need MAIL command", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
    }

    [Fact]
    public async Task Recipient_past_max_recipients_gets_452_and_the_others_are_kept()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxRecipients = 3);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync($"RCPT TO:<rcpt{i}@example.com>")).ToString());
        }

        Assert.Equal("452 4.5.3 Too many recipients", (await client.CommandAsync("RCPT TO:<rcpt4@example.com>")).ToString());
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Matches("^250 2.0.0 OK", (await client.CommandAsync("Subject: three\r\n\r\nx\r\n.")).ToString());

        Assert.Equal(["rcpt1@example.com", "rcpt2@example.com", "rcpt3@example.com"], Assert.Single(beacon.Queue).Recipients.Select(r => r.Address));
        Assert.Equal("rcpt4@example.com", (string?)Assert.Single(await beacon.WaitForEventsAsync("policy_rejection"))["rcpt_to"]);
    }

    [Fact]
    public async Task Error_past_max_errors_gets_421_and_the_connection_is_closed()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Limits.MaxErrors = 3);
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("500 5.5.1 Command unrecognized", (await client.CommandAsync("BOGUS")).ToString());
        }

        Assert.Equal("421 4.7.0 Too many errors, closing connection", (await client.CommandAsync("BOGUS")).ToString());
        Assert.True(await client.IsClosedByServerAsync());
    }
}
