using System.Text.Json.Nodes;

namespace Beacon.EndToEnd.Tests;

/// <summary>`beacon events tail` in its own process, reading the store while a server writes it.</summary>
public sealed class EventsTailTests
{
    [Fact]
    public async Task Tail_prints_the_last_stored_events_then_new_ones_as_they_come()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        var first = await InjectAsync(beacon, "first@example.com");
        await beacon.WaitForEventsAsync("injection");

        using var tail = BeaconProcess.Start("events", "tail", "--data", beacon.DataDir, "--json", "--type", "injection", "--set", "api:listen=127.0.0.1:0");
        await BeaconInstance.WaitUntilAsync(() => tail.Output.Contains(first, StringComparison.Ordinal), "the backlog", TimeSpan.FromSeconds(30));

        var second = await InjectAsync(beacon, "second@example.com");
        await BeaconInstance.WaitUntilAsync(() => tail.Output.Contains(second, StringComparison.Ordinal), "the new event", TimeSpan.FromSeconds(30));
        var lines = tail.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.Equal("injection", (string?)JsonNode.Parse(l)!["msys"]!["message_event"]!["type"]));
        Assert.Equal(2, lines.Length);
    }

    [Fact]
    public async Task An_unknown_type_is_a_usage_error()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-tail-").FullName;
        var (exit, output) = await BeaconProcess.RunAsync("events", "tail", "--data", dataDir, "--type", "clicks");
        Assert.Equal(2, exit);
        Assert.Contains("'clicks' is not an event type", output, StringComparison.Ordinal);
        Directory.Delete(dataDir, recursive: true);
    }

    private static async Task<string> InjectAsync(BeaconInstance beacon, string recipient)
    {
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<news@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{recipient}>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: tail\r\n\r\nhello\r\n.\r\n");
        var reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);
        return recipient;
    }
}
