using System.Globalization;
using System.Text.Json.Nodes;
using Beacon.EndToEnd.Tests.Webhooks;

namespace Beacon.EndToEnd.Tests.Observability;

/// <summary>
/// The read verbs' --json output (documented field names, docs/cli.md), colour only on a terminal and never with
/// NO_COLOR or when redirected, and `webhooks replay` progress on standard error with its summary on standard output.
/// </summary>
public sealed class CliOutputTests
{
    private const char Escape = '\u001b';

    /// <summary>An SGR sequence (colour, bold, reset).</summary>
    private const string Colour = "\u001b\\[[0-9;]*m";

    [Fact]
    public async Task Config_check_json_describes_the_configuration_or_lists_its_errors()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-cli-").FullName;
        try
        {
            var (exit, stdout, stderr) = await Cli.RunAsync(null, "config", "check", "--json", "--data", dataDir);
            Assert.True(exit == 0, stderr);
            var check = (JsonObject)JsonNode.Parse(stdout)!;
            Assert.True((bool)check["ok"]!);
            Assert.Equal(dataDir, (string?)check["data_dir"]);
            var listener = (JsonObject)((JsonArray)check["listeners"]!)[0]!;
            Assert.Equal(("default", "127.0.0.1:2525"), ((string?)listener["name"], (string?)listener["listen"]));
            Assert.Equal("/metrics", (string?)check["api"]!["metrics_path"]);
            Assert.Equal(0, (int)check["api"]!["keys"]!);
            Assert.Equal("sqlite", (string?)check["events"]!["store"]);
            Assert.Equal("capture", (string?)check["delivery"]!["mode"]);

            (exit, stdout, _) = await Cli.RunAsync(null, "config", "check", "--json", "--data", dataDir, "--set", "smtp:listeners:0:listen=nowhere");
            Assert.Equal(1, exit);
            var invalid = (JsonObject)JsonNode.Parse(stdout)!;
            Assert.False((bool)invalid["ok"]!);
            Assert.Contains((JsonArray)invalid["errors"]!, e => ((string)e!).Contains("nowhere", StringComparison.Ordinal));

            (exit, stdout, _) = await Cli.RunAsync(null, "config", "check", "--json", "--data", dataDir, "--listener", "default", "--peer", "10.1.2.3");
            Assert.Equal(0, exit);
            var effective = (JsonObject)JsonNode.Parse(stdout)!;
            Assert.Equal(("default", "10.1.2.3", false), ((string?)effective["listener"], (string?)effective["peer"], (bool)effective["may_relay"]!));
            Assert.Equal("localhost:8080", (string?)effective["tracking_domain"]!["value"]);
            Assert.False(string.IsNullOrEmpty((string?)effective["tracking_domain"]!["from"]));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Colour_appears_on_a_terminal_only_and_never_with_no_color_or_when_redirected()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-cli-").FullName;
        try
        {
            var (exit, stdout, stderr) = await Cli.RunAsync(null, "config", "check", "--data", dataDir);
            Assert.True(exit == 0, stderr);
            Assert.StartsWith("configuration OK", stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(Escape, stdout + stderr);

            var (terminalExit, terminal, _) = await Cli.RunOnTerminalAsync(new Dictionary<string, string?>(), "config", "check", "--data", dataDir);
            Assert.Equal(0, terminalExit);
            Assert.Contains($"{Escape}[32m", terminal, StringComparison.Ordinal); // the OK marker, green
            Assert.Matches(Colour, terminal);

            var (plainExit, plain, _) = await Cli.RunOnTerminalAsync(new Dictionary<string, string?> { ["NO_COLOR"] = "1" }, "config", "check", "--data", dataDir);
            Assert.Equal(0, plainExit);
            Assert.Contains("configuration OK", plain, StringComparison.Ordinal);
            Assert.DoesNotMatch(Colour, plain); // (the runtime still sets the terminal's keypad mode: not a colour)

            (exit, _, stderr) = await Cli.RunAsync(null, "config", "check", "--data", dataDir, "--set", "smtp:listeners:0:listen=nowhere");
            Assert.Equal(1, exit);
            Assert.Contains("invalid configuration", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(Escape, stderr);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Queue_verbs_json_and_webhooks_replay_progress_and_summary()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-cli-").FullName;
        var port = BeaconProcess.FreePort();
        string[] run = ["run", "--data", dataDir, "--set", $"smtp:listeners:0:listen=127.0.0.1:{port}", "--set", "engagement_tracker:listen=127.0.0.1:0",
            "--set", "api:listen=127.0.0.1:0"];
        try
        {
            // One message delivered into capture, then one kept in the spool while delivery is suspended.
            using (var beacon = BeaconProcess.Start(run))
            {
                await beacon.WaitForPortAsync(port);
                await SendAsync(port, "captured@example.com");
                await BeaconInstance.WaitUntilAsync(async () => (await Cli.RunAsync(null, "queue", "captured", "--json", "--data", dataDir)).Out.Contains("captured@example.com", StringComparison.Ordinal), "the captured copy", TimeSpan.FromSeconds(30));
                beacon.Terminate();
                await beacon.WaitForExitAsync(TimeSpan.FromSeconds(30));
            }

            string id;
            using (var beacon = BeaconProcess.Start([.. run, "--set", "delivery:suspended=true"]))
            {
                await beacon.WaitForPortAsync(port);
                id = await SendAsync(port, "waiting@example.com", "second@example.org");
                beacon.Terminate();
                await beacon.WaitForExitAsync(TimeSpan.FromSeconds(30));
                Assert.Contains("spool: 0 messages waiting", beacon.Output, StringComparison.Ordinal);
            }

            var (exit, stdout, stderr) = await Cli.RunAsync(null, "queue", "list", "--json", "--data", dataDir);
            Assert.True(exit == 0, stderr);
            var listed = (JsonObject)Assert.Single((JsonArray)JsonNode.Parse(stdout)!)!;
            Assert.Equal(id, (string?)listed["message_id"]);
            Assert.Equal("sender@example.org", (string?)listed["mail_from"]);
            Assert.Equal(["waiting@example.com", "second@example.org"], ((JsonArray)listed["recipients"]!).Select(r => (string)r!["address"]!));
            Assert.All((JsonArray)listed["recipients"]!, r => Assert.Equal("queued", (string?)r!["state"]));

            (exit, stdout, stderr) = await Cli.RunAsync(null, "queue", "show", id, "--json", "--data", dataDir);
            Assert.True(exit == 0, stderr);
            var shown = (JsonObject)JsonNode.Parse(stdout)!;
            Assert.Equal(id, (string?)shown["message"]!["message_id"]);
            var headers = ((JsonArray)shown["headers"]!).Select(h => ((string)h!["name"]!, (string)h["value"]!)).ToList();
            Assert.Contains(("Subject", "cli test"), headers);
            Assert.Equal("Received", headers[0].Item1);

            (exit, stdout, _) = await Cli.RunAsync(null, "queue", "captured", "--json", "--data", dataDir);
            Assert.Equal(0, exit);
            var copy = (JsonObject)Assert.Single((JsonArray)JsonNode.Parse(stdout)!)!;
            Assert.Equal("captured@example.com", (string?)copy["rcpt_to"]);
            Assert.True(File.Exists((string)copy["path"]!));

            (exit, stdout, _) = await Cli.RunAsync(null, "queue", "list", "--data", dataDir);
            Assert.Equal(0, exit);
            Assert.Contains(id, stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(Escape, stdout);

            // Replay the stored events (3 injections, 1 delivery) in batches of 2 to a real receiver.
            await using var receiver = await WebhookReceiver.StartAsync();
            var from = DateTimeOffset.UtcNow.AddHours(-1).ToString("O", CultureInfo.InvariantCulture);
            var to = DateTimeOffset.UtcNow.AddHours(1).ToString("O", CultureInfo.InvariantCulture);
            string[] hook = ["--data", dataDir, "--set", "webhooks:0:name=crm", "--set", $"webhooks:0:target={receiver.Url}", "--set", "webhooks:0:batch_size=2",
                "--set", "webhooks:0:events:0=injection", "--set", "webhooks:0:events:1=delivery"];
            (exit, stdout, stderr) = await Cli.RunAsync(null, ["webhooks", "replay", "crm", "--from", from, "--to", to, "--json", .. hook]);
            Assert.True(exit == 0, stderr);
            var summary = (JsonObject)JsonNode.Parse(stdout)!;
            Assert.Equal(("crm", receiver.Url, true), ((string?)summary["webhook"], (string?)summary["target"], (bool)summary["ok"]!));
            Assert.Equal((4, 4, 2), ((long)summary["events_matched"]!, (long)summary["events_sent"]!, (long)summary["batches"]!));
            Assert.Null(summary["error"]);
            Assert.Equal(4, receiver.Accepted.Sum(r => r.EventIds.Count));
            Assert.Contains("replay crm: batch 1", stderr, StringComparison.Ordinal);
            Assert.Contains("4/4 (100%)", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(Escape, stderr + stdout);
            Assert.DoesNotContain('\r', stderr); // not a terminal: one line per batch

            (exit, stdout, _) = await Cli.RunAsync(null, ["webhooks", "replay", "crm", "--from", from, "--to", to, .. hook]);
            Assert.Equal(0, exit);
            Assert.Equal($"ok  replay crm: 4 of 4 events sent in 2 batches to {receiver.Url}", stdout.Trim());

            // The next start reads the spooled message back and says so.
            using (var beacon = BeaconProcess.Start([.. run, "--set", "delivery:suspended=true"]))
            {
                await beacon.WaitForPortAsync(port);
                beacon.Terminate();
                await beacon.WaitForExitAsync(TimeSpan.FromSeconds(30));
                Assert.Matches("spool: recovered 1 of 1 messages in [0-9.]+ s, 0 quarantined", beacon.Output);
            }

            // On a terminal: each batch's line replaces the previous one, and the summary's marker is green.
            var (terminalExit, terminal, _) = await Cli.RunOnTerminalAsync(new Dictionary<string, string?>(), ["webhooks", "replay", "crm", "--from", from, "--to", to, .. hook]);
            Assert.Equal(0, terminalExit);
            Assert.Contains("\r\u001b[Kreplay crm: batch 2", terminal, StringComparison.Ordinal);
            Assert.Contains("\u001b[32mok\u001b[0m  replay crm: 4 of 4 events sent", terminal, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task<string> SendAsync(int port, params string[] recipients)
    {
        await using var client = await TestSmtpClient.ConnectEhloAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@example.org>")).Code);
        foreach (var recipient in recipients)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{recipient}>")).Code);
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("From: sender@example.org\r\nSubject: cli test\r\n\r\nhello\r\n.\r\n");
        var reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);
        return reply.Texts.Single().Split(' ')[^1];
    }
}
