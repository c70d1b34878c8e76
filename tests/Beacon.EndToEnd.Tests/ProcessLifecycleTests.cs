using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Beacon.EndToEnd.Tests;

public sealed class ProcessLifecycleTests
{
    [Fact]
    public async Task Sigterm_answers_open_sessions_with_421_keeps_accepted_mail_and_exits_0()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-term-").FullName;
        var port = BeaconProcess.FreePort();
        using var beacon = BeaconProcess.Start("run", "--data", dataDir, "--set", $"smtp:listeners:0:listen=127.0.0.1:{port}", "--set", "delivery:suspended=true", "--set", "engagement_tracker:listen=127.0.0.1:0", "--set", "api:listen=127.0.0.1:0");
        await beacon.WaitForPortAsync(port);

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        var reader = new StreamReader(stream, Encoding.ASCII);
        await reader.ReadLineAsync();
        await stream.WriteAsync("EHLO t\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"u8.ToArray());
        while ((await reader.ReadLineAsync())![..3] != "354")
        {
        }

        await stream.WriteAsync("Subject: before shutdown\r\n\r\nkept\r\n.\r\n"u8.ToArray());
        var accepted = await reader.ReadLineAsync();
        Assert.StartsWith("250 2.0.0 OK ", accepted, StringComparison.Ordinal);

        beacon.Terminate();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal("421 4.3.2 Service shutting down, try again later", await reader.ReadLineAsync(timeout.Token));
        await beacon.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, beacon.Process.ExitCode);

        var (exit, list) = await BeaconProcess.RunAsync("queue", "list", "--data", dataDir);
        Assert.Equal(0, exit);
        Assert.Contains(accepted![13..], list, StringComparison.Ordinal);
        Assert.Contains("1 message, 1 recipients waiting", list, StringComparison.Ordinal);
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task An_unknown_key_stops_start_up_with_the_key_name()
    {
        var config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, """{ "smtp": { "listeners": [ { "listen": "127.0.0.1:0", "limits": { "max_recipents": 5 } } ] } }""");

        var (runExit, runOutput) = await BeaconProcess.RunAsync("run", "--config", config);
        var (checkExit, checkOutput) = await BeaconProcess.RunAsync("config", "check", "--config", config);

        Assert.Equal(1, runExit);
        Assert.Contains("smtp:listeners:0:limits:max_recipents: unknown key", runOutput, StringComparison.Ordinal);
        Assert.Equal(1, checkExit);
        Assert.Contains("smtp:listeners:0:limits:max_recipents: unknown key", checkOutput, StringComparison.Ordinal);
        File.Delete(config);
    }

    [Fact]
    public async Task Config_check_accepts_environment_overrides_and_reports_the_effective_listener()
    {
        var (exit, output) = await BeaconProcess.RunAsync("config", "check", "--set", "smtp:listeners:0:listen=0.0.0.0:2600", "--set", "node_name=mta1");
        Assert.Equal(0, exit);
        Assert.Contains("listener   default on 0.0.0.0:2600: hostname mta1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_check_for_a_listener_and_peer_shows_each_value_and_its_scope()
    {
        var (exit, output) = await BeaconProcess.RunAsync(
            "config", "check", "--listener", "default", "--peer", "10.1.2.3",
            "--set", "smtp:listeners:0:smtpapi:open_tracking_enabled=true",
            "--set", "smtp:listeners:0:peers:0:cidr=10.0.0.0/8",
            "--set", "smtp:listeners:0:peers:0:smtpapi:tracking_domain=trk.example.com",
            "--set", "smtpapi:click_tracking_scheme=HTTPS");

        Assert.Equal(0, exit);
        Assert.Contains("listener default, peer 10.1.2.3: must authenticate to relay", output, StringComparison.Ordinal);
        Assert.Matches(@"open_tracking_enabled\s+true\s+listener 'default'\n", output);
        Assert.Matches(@"tracking_domain\s+trk\.example\.com\s+listener 'default' peer 10\.0\.0\.0/8\n", output);
        Assert.Matches(@"click_tracking_scheme\s+https\s+global smtpapi\n", output);
        Assert.Matches(@"tracking_link_expiry\s+31536000\s+default\n", output);
    }

    [Fact]
    public async Task A_second_process_on_the_same_data_dir_is_refused()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-lock-").FullName;
        await using var first = await BeaconInstance.StartAsync(dataDir: dataDir);
        var (exit, output) = await BeaconProcess.RunAsync("run", "--data", dataDir, "--set", "smtp:listeners:0:listen=127.0.0.1:0", "--set", "engagement_tracker:listen=127.0.0.1:0", "--set", "api:listen=127.0.0.1:0");
        Assert.Equal(1, exit);
        Assert.Contains("is in use by another Beacon process", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hash_password_reads_standard_input_and_the_hash_verifies()
    {
        using var process = BeaconProcess.Start("auth", "hash-password");
        await process.Process.StandardInput.WriteLineAsync("correct horse");
        process.Process.StandardInput.Close();
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var hash = process.Output.Trim();
        Assert.StartsWith("pbkdf2-sha256$", hash, StringComparison.Ordinal);
        Assert.True(Beacon.Ingress.PasswordHash.Verify("correct horse", hash));
        Assert.False(Beacon.Ingress.PasswordHash.Verify("wrong", hash));
    }
}
