using System.Text.Json.Nodes;

namespace Beacon.EndToEnd.Tests.Delivery;

/// <summary>`beacon queue retry|bounce` against a running `beacon run` (control socket) and a stopped one (spool metadata).</summary>
public sealed class QueueVerbTests
{
    [Fact]
    public async Task Retry_and_bounce_reach_the_running_server_and_a_stopped_one()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-qverb-").FullName;
        var port = BeaconProcess.FreePort();
        var dead = BeaconProcess.FreePort(); // nothing listens there: every attempt fails temporarily
        string[] run = ["run", "--data", dataDir, "--set", $"smtp:listeners:0:listen=127.0.0.1:{port}", "--set", "engagement_tracker:listen=127.0.0.1:0",
            "--set", "delivery:mode=smarthost", "--set", $"delivery:smarthost=127.0.0.1:{dead}", "--set", "delivery:tls=none",
            "--set", "delivery:retry:initial_interval=3600"];
        string first, second;
        using (var beacon = BeaconProcess.Start(run))
        {
            await beacon.WaitForPortAsync(port);
            first = await SendAsync(port, "one@example.test");
            second = await SendAsync(port, "two@example.test");
            await BeaconInstance.WaitUntilAsync(async () => await AttemptsAsync(dataDir, first) == 1 && await AttemptsAsync(dataDir, second) == 1, "a first failed attempt of both");

            var (retryExit, retryOutput) = await BeaconProcess.RunAsync("queue", "retry", first, "--data", dataDir);
            Assert.True(retryExit == 0, retryOutput);
            Assert.Contains("retrying now", retryOutput, StringComparison.Ordinal);
            await BeaconInstance.WaitUntilAsync(async () => await AttemptsAsync(dataDir, first) == 2, "a second attempt after `queue retry`");

            var (bounceExit, bounceOutput) = await BeaconProcess.RunAsync("queue", "bounce", first, "--data", dataDir);
            Assert.True(bounceExit == 0, bounceOutput);
            await BeaconInstance.WaitUntilAsync(async () => !(await BeaconProcess.RunAsync("queue", "list", "--data", dataDir)).Output.Contains(first, StringComparison.Ordinal), "the bounced message to leave the queue");

            var (unknownExit, unknownOutput) = await BeaconProcess.RunAsync("queue", "bounce", "0123456789abcdef0123", "--data", dataDir);
            Assert.Equal(1, unknownExit);
            Assert.Contains("no message 0123456789abcdef0123 is waiting", unknownOutput, StringComparison.Ordinal);
            beacon.Terminate();
            await beacon.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        // Stopped: the verb marks the metadata, and the next start bounces it before any attempt.
        var (offlineExit, offlineOutput) = await BeaconProcess.RunAsync("queue", "bounce", second, "--data", dataDir);
        Assert.True(offlineExit == 0, offlineOutput);
        Assert.Contains("not running", offlineOutput, StringComparison.Ordinal);
        Assert.Equal(1, await AttemptsAsync(dataDir, second));
        using (var beacon = BeaconProcess.Start(run))
        {
            await beacon.WaitForPortAsync(port);
            await BeaconInstance.WaitUntilAsync(async () => (await BeaconProcess.RunAsync("queue", "list", "--data", dataDir)).Output.Contains("0 messages", StringComparison.Ordinal), "the spool to be empty");
            beacon.Terminate();
            await beacon.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        Directory.Delete(dataDir, recursive: true);
    }

    private static async Task<int> AttemptsAsync(string dataDir, string id)
    {
        var (exit, output) = await BeaconProcess.RunAsync("queue", "list", "--data", dataDir, "--json");
        if (exit != 0)
        {
            return -1;
        }

        var message = JsonNode.Parse(output)!.AsArray().FirstOrDefault(m => (string?)m!["message_id"] == id);
        return message is null ? -1 : (int)message["recipients"]![0]!["attempts"]!;
    }

    private static async Task<string> SendAsync(int port, string recipient)
    {
        await using var client = await TestSmtpClient.ConnectEhloAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{recipient}>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("Subject: queue verbs\r\n\r\nhello\r\n.\r\n");
        var reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);
        return reply.Texts.Single()[^20..];
    }
}
