using System.Diagnostics;

namespace Beacon.EndToEnd.Tests;

public sealed class SwaksTests
{
    [Fact]
    public async Task Pipelined_message_from_swaks_is_spooled_with_its_injection_event()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        var (exit, output) = await RunAsync("swaks", $"--server 127.0.0.1:{beacon.Smtp.Port} --from sender@example.org --to rcpt@example.com --pipeline --body hello");

        Assert.Equal(0, exit);
        Assert.Matches(@"<-  250 2\.0\.0 OK [0-9a-f]{20}", output);
        var message = Assert.Single(beacon.Server.Spool.List());
        Assert.Equal("sender@example.org", message.MailFrom);
        Assert.Equal("rcpt@example.com", Assert.Single(message.Recipients).Address);
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task Swaks_authenticates_after_starttls(string mechanism)
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            BeaconInstance.Listener(o).Tls = "self-signed";
            BeaconInstance.AddUser(o);
        });

        // swaks 20201014 (Debian 12) never verifies the certificate; newer versions only with --tls-verify.
        var (exit, output) = await RunAsync("swaks", $"--server 127.0.0.1:{beacon.Smtp.Port} --from sender@example.org --to rcpt@example.com --tls --auth {mechanism} --auth-user app --auth-password secret --body hello");

        Assert.True(exit == 0, output);
        Assert.Contains("<~  235 2.7.0 Authentication successful", output);
        Assert.Matches(@"<~  250 2\.0\.0 OK [0-9a-f]{20}", output);
        var message = Assert.Single(beacon.Queue);
        Assert.Equal("app", message.AuthUser);
        Assert.Equal("42", (string?)Assert.Single(await beacon.WaitForEventsAsync("injection"))["customer_id"]);
    }

    internal static async Task<(int Exit, string Output)> RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
