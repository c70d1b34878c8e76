using System.Text;
using MailKit.Net.Smtp;
using MimeKit;

namespace Beacon.EndToEnd.Tests;

/// <summary>The X-MSYS-API header and scoped configuration over real SMTP.</summary>
public sealed class SmtpapiTests
{
    [Fact]
    public async Task MailKit_message_with_the_header_is_accepted_and_its_events_carry_the_engagement_data()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            BeaconInstance.Listener(o).Smtpapi.ClickTrackingEnabled = true;
            o.Smtpapi.TrackingDomain = "click.example.net";
        });
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("news@example.org"));
        message.To.Add(MailboxAddress.Parse("one@example.com"));
        message.To.Add(MailboxAddress.Parse("two@example.com"));
        message.Subject = "Spring sale";
        message.Headers.Add("X-MSYS-API", """{"campaign_id": "spring", "tags": ["promo"], "metadata": {"tier": "gold"}, "options": {"open_tracking": true}}""");
        message.Body = new TextPart("html") { Text = "<a href=\"https://shop.example.com/\">Shop</a>" };

        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", beacon.Smtp.Port, MailKit.Security.SecureSocketOptions.None);
        var response = await client.SendAsync(message);
        await client.DisconnectAsync(true);

        Assert.Matches(@"^2\.0\.0 OK [0-9a-f]{20}$", response);
        var injections = await beacon.WaitForEventsAsync("injection", 2);
        Assert.All(injections, e =>
        {
            Assert.Equal("spring", (string?)e["campaign_id"]);
            Assert.Equal("""["promo"]""", e["rcpt_tags"]!.ToJsonString());
            Assert.Equal("""{"tier":"gold"}""", e["rcpt_meta"]!.ToJsonString());
            Assert.True((bool)e["open_tracking"]!);
            Assert.True((bool)e["click_tracking"]!); // from the listener's configuration
            Assert.Equal("Spring sale", (string?)e["subject"]);
        });
        Assert.Equal(injections[0]["transmission_id"]!.ToString(), injections[1]["transmission_id"]!.ToString());
        var tracking = Assert.Single(beacon.Queue).Recipients.Select(r => r.Tracking!.TrackingDomain).Distinct();
        Assert.Equal(["click.example.net"], tracking);
    }

    [Fact]
    public async Task A_bad_header_refuses_the_whole_transaction_and_queues_no_recipient()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        foreach (var rcpt in new[] { "r1@example.com", "r2@example.com", "r3@example.com" })
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{rcpt}>")).Code);
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("X-MSYS-API: {\"metadata\": \"not an object\"}\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
        Assert.Equal("550 5.6.0 X-MSYS-API 'metadata' must be of type 'json object'", (await client.ReadReplyAsync()).ToString());

        Assert.Empty(beacon.Queue);
        Assert.Equal(0, beacon.Server.Spool.Receiving); // no body of the refused message either
        var rejections = await beacon.WaitForEventsAsync("policy_rejection", 3);
        Assert.All(rejections, r => Assert.Equal("550", (string?)r["error_code"]));
        Assert.Equal(250, (await PolicyTests.SendAsync(client, "Subject: next\r\n\r\nok\r\n")).Code);
    }

    [Fact]
    public async Task Hostile_headers_get_their_defined_answers()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);

        var deep = new string('[', 1000) + new string(']', 1000);
        Assert.Equal("550 5.6.0 X-MSYS-API header is nested deeper than 32 levels", (await SendHeaderAsync(client, Encoding.ASCII.GetBytes(deep))).ToString());
        Assert.Equal("550 5.6.0 X-MSYS-API header is not valid UTF-8", (await SendHeaderAsync(client, [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'])).ToString());

        // 64 KB of metadata, folded over many lines: accepted and kept whole.
        var values = string.Join(",\r\n ", Enumerable.Range(0, 1024).Select(i => $"\"k{i}\": \"{new string('v', 56)}\""));
        var big = await SendHeaderAsync(client, Encoding.ASCII.GetBytes("{\"metadata\": {" + values + "}}"));
        Assert.Equal(250, big.Code);
        var metadata = Assert.Single(Assert.Single(beacon.Queue).Recipients).Tracking!.Metadata!;
        Assert.Equal(1024, metadata.Count);
    }

    [Fact]
    public async Task Peer_scoped_configuration_applies_to_clients_inside_the_cidr()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            var listener = BeaconInstance.Listener(o);
            listener.Peers.Add(new Beacon.Config.PeerOptions { Cidr = "127.0.0.0/8", Smtpapi = { OpenTrackingEnabled = true, OpenTrackingScheme = "https" } });
            listener.Peers.Add(new Beacon.Config.PeerOptions { Cidr = "10.0.0.0/8", Smtpapi = { ClickTrackingEnabled = true } });
        });
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal(250, (await PolicyTests.SendAsync(client, "Subject: x\r\n\r\ny\r\n")).Code);

        var tracking = Assert.Single(Assert.Single(beacon.Queue).Recipients).Tracking!;
        Assert.Equal((true, false, "https"), (tracking.OpenTracking, tracking.ClickTracking, tracking.OpenTrackingScheme));
    }

    private static async Task<TestReply> SendHeaderAsync(TestSmtpClient client, byte[] value)
    {
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@example.org>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@example.com>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync([.. "X-MSYS-API: "u8, .. value, .. "\r\nSubject: hostile\r\n\r\nbody\r\n.\r\n"u8]);
        return await client.ReadReplyAsync();
    }
}
