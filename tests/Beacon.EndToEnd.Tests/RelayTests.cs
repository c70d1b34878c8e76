using System.Text;

namespace Beacon.EndToEnd.Tests;

public sealed class RelayTests
{
    [Fact]
    public async Task Peer_outside_relay_from_must_authenticate()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            var listener = BeaconInstance.Listener(o);
            listener.RelayFrom.Clear();
            listener.RelayFrom.Add("10.0.0.0/8");
            listener.Auth.AllowInsecureAuth = true;
            BeaconInstance.AddUser(o);
        });
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        Assert.Equal("550 5.7.1 Relaying denied", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
        var rejection = Assert.Single(await beacon.WaitForEventsAsync("policy_rejection"));
        Assert.Equal("rcpt@example.com", (string?)rejection["rcpt_to"]);
        Assert.Equal("550", (string?)rejection["error_code"]);
        Assert.Equal("127.0.0.1", (string?)rejection["remote_addr"]);

        Assert.Equal("250 2.0.0 OK", (await client.CommandAsync("RSET")).ToString());
        var auth = await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0app\0secret")));
        Assert.Equal("235 2.7.0 Authentication successful", auth.ToString());
        Assert.Equal("250 2.1.0 Sender OK", (await client.CommandAsync("MAIL FROM:<sender@example.org>")).ToString());
        Assert.Equal("250 2.1.5 Recipient OK", (await client.CommandAsync("RCPT TO:<rcpt@example.com>")).ToString());
    }
}
