using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Beacon.Config;
using Beacon.EndToEnd.Tests.Sink;
using Beacon.Links;
using Beacon.Smtp;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EndToEnd.Tests.Delivery;

/// <summary>
/// Beacon delivering to the project's sink, found through MX records served by dnsmasq: delivered, deferred then
/// delivered, bounced, a dead host until max age, preference order, null MX, no such domain.
/// </summary>
public sealed partial class MxDeliveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_tracked_message_reaches_the_mx_host_rendered_for_its_recipient()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"));
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await StartAsync(dns, sink.Endpoint.Port);

        var id = await SendAsync(beacon, "alice@example.test", tracked: true);

        var received = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.Equal(["alice@example.test"], received.Recipients);
        Assert.Equal("sender@example.org", received.MailFrom);
        Assert.DoesNotContain("X-MSYS-API", received.Text, StringComparison.OrdinalIgnoreCase);
        var href = HrefPattern().Match(received.Text).Groups[1].Value;
        Assert.True(beacon.Server.Services.GetRequiredService<LinkCodec>().TryOpenUrl(href, out var click, out _), href);
        Assert.Equal(("https://shop.example.com/", "alice@example.test", id), (click!.Link.Target, click.Link.Recipient, click.Link.MessageId));

        var delivery = Assert.Single(await beacon.WaitForEventsAsync("delivery"));
        Assert.Equal(("esmtp", "127.0.0.2", "mx1.example.test", id), ((string?)delivery["delv_method"], (string?)delivery["ip_address"], (string?)delivery["remote_host"], (string?)delivery["message_id"]));
        Assert.Equal("spring", (string?)delivery["campaign_id"]);
        await BeaconInstance.WaitUntilAsync(() => !beacon.Queue.Any(), "the spool to be empty");
    }

    [Fact]
    public async Task A_4xx_is_a_delay_then_the_retry_delivers()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"), options: new TestSinkOptions
        {
            OnRcpt = r => r.Attempt == 1 ? new SmtpReply(450, "4.2.0", "Mailbox busy, try later") : null,
        });
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await StartAsync(dns, sink.Endpoint.Port);

        await SendAsync(beacon, "bob@example.test");

        var delay = Assert.Single(await beacon.WaitForEventsAsync("delay"));
        Assert.Equal("450 4.2.0 Mailbox busy, try later", (string?)delay["raw_reason"]);
        Assert.Equal("450", (string?)delay["error_code"]);
        var delivery = Assert.Single(await beacon.WaitForEventsAsync("delivery"));
        Assert.Equal("1", (string?)delivery["num_retries"]);
        Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
    }

    [Fact]
    public async Task A_5xx_bounces_with_its_class_and_nothing_is_retried()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"), options: new TestSinkOptions
        {
            OnRcpt = r => r.Address.StartsWith("nobody", StringComparison.Ordinal) ? new SmtpReply(550, "5.1.1", "The email account that you tried to reach does not exist") : null,
        });
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await StartAsync(dns, sink.Endpoint.Port);

        await SendAsync(beacon, "nobody@example.test", "carol@example.test");

        var bounce = Assert.Single(await beacon.WaitForEventsAsync("bounce"));
        Assert.Equal(("nobody@example.test", "10", "550"), ((string?)bounce["rcpt_to"], (string?)bounce["bounce_class"], (string?)bounce["error_code"]));
        Assert.Single(await beacon.WaitForEventsAsync("delivery"));
        await BeaconInstance.WaitUntilAsync(() => !beacon.Queue.Any(), "the spool to be empty");
        Assert.Empty(beacon.ReadEvents("delay"));
    }

    [Fact]
    public async Task A_dead_host_gives_delays_then_a_bounce_at_max_age()
    {
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.9"));
        await using var beacon = await StartAsync(dns, TestPort(), o => o.Delivery.Retry = new RetryOptions { InitialInterval = 1, Factor = 1, MaxAge = 3 });

        await SendAsync(beacon, "dave@example.test");

        var bounce = Assert.Single(await beacon.WaitForEventsAsync("bounce"));
        Assert.Equal("24", (string?)bounce["bounce_class"]);
        Assert.Contains("expired", (string?)bounce["reason"], StringComparison.Ordinal);
        Assert.Contains("127.0.0.9", (string?)bounce["reason"], StringComparison.Ordinal);
        Assert.InRange(beacon.ReadEvents("delay").Count, 2, 4);
    }

    [Fact]
    public async Task Hosts_are_tried_in_preference_order_and_a_dead_first_host_is_skipped()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.3"));
        using var dns = await DnsServer.StartAsync(new DnsRecords()
            .Mx("example.test", "backup.example.test", 20).A("backup.example.test", "127.0.0.3")
            .Mx("example.test", "primary.example.test", 10).A("primary.example.test", "127.0.0.4"));
        await using var beacon = await StartAsync(dns, sink.Endpoint.Port);

        await SendAsync(beacon, "erin@example.test");

        Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        var delivery = Assert.Single(await beacon.WaitForEventsAsync("delivery"));
        Assert.Equal("backup.example.test", (string?)delivery["remote_host"]);
    }

    [Fact]
    public async Task A_domain_without_mx_records_is_delivered_to_its_own_address()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"));
        using var dns = await DnsServer.StartAsync(new DnsRecords().A("implicit.test", "127.0.0.2"));
        await using var beacon = await StartAsync(dns, sink.Endpoint.Port);

        await SendAsync(beacon, "grace@implicit.test");

        Assert.Equal(["grace@implicit.test"], Assert.Single(await sink.WaitForMessagesAsync(1, Timeout)).Recipients);
        Assert.Equal("implicit.test", (string?)Assert.Single(await beacon.WaitForEventsAsync("delivery"))["remote_host"]);
    }

    [Theory]
    [InlineData("nullmx.test", "null MX")]
    [InlineData("missing.test", "NXDOMAIN")]
    public async Task A_domain_that_takes_no_mail_bounces_at_once(string domain, string why)
    {
        using var dns = await DnsServer.StartAsync(new DnsRecords().NullMx("nullmx.test"));
        await using var beacon = await StartAsync(dns, TestPort());

        await SendAsync(beacon, $"frank@{domain}");

        var bounce = Assert.Single(await beacon.WaitForEventsAsync("bounce"));
        Assert.Contains(why, (string?)bounce["reason"], StringComparison.Ordinal);
        Assert.Empty(beacon.ReadEvents("delay"));
    }

    [Fact]
    public async Task Messages_to_one_destination_share_a_connection()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"));
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await StartAsync(dns, sink.Endpoint.Port, o => o.Delivery.MaxConnections = 1);

        for (var i = 0; i < 5; i++)
        {
            await SendAsync(beacon, $"user{i}@example.test");
        }

        await sink.WaitForMessagesAsync(5, Timeout);
        Assert.Equal(1, sink.Connections);
    }

    [Theory]
    [InlineData("opportunistic", true, true)]
    [InlineData("opportunistic", false, true)]
    [InlineData("required", true, true)]
    [InlineData("required", false, false)]
    public async Task Starttls_is_used_when_offered_and_required_tls_waits_for_it(string tls, bool offered, bool delivered)
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"), options: new TestSinkOptions { StartTls = offered });
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await StartAsync(dns, sink.Endpoint.Port, o => o.Delivery.Tls = tls);

        await SendAsync(beacon, "tls@example.test");

        if (delivered)
        {
            Assert.Equal(offered, Assert.Single(await sink.WaitForMessagesAsync(1, Timeout)).Tls);
        }
        else
        {
            var delay = (await beacon.WaitForEventsAsync("delay"))[0];
            Assert.Contains("TLS", (string?)delay["reason"], StringComparison.Ordinal);
            Assert.Empty(sink.Messages);
        }
    }

    [SmtpSinkFact]
    public async Task Postfix_smtp_sink_as_smarthost_takes_every_copy()
    {
        var port = BeaconProcess.FreePort();
        using var sink = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("smtp-sink", $"-u nobody -c 127.0.0.1:{port} 100")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            await using var beacon = await BeaconInstance.StartAsync(o =>
            {
                o.Delivery.Suspended = false;
                o.Delivery.Mode = "smarthost";
                o.Delivery.Smarthost = $"127.0.0.1:{port}";
            });
            await SendAsync(beacon, "a@example.test", tracked: true);
            await SendAsync(beacon, "b@example.test", "c@example.net");

            var deliveries = await beacon.WaitForEventsAsync("delivery", 3);
            Assert.All(deliveries, d => Assert.Equal(("esmtp", "127.0.0.1"), ((string?)d["delv_method"], (string?)d["ip_address"])));
            Assert.Equal("1", (string?)deliveries.Single(d => (string?)d["rcpt_to"] == "a@example.test")["links_tracked"]);
        }
        finally
        {
            sink.Kill();
        }
    }

    [Fact]
    public async Task A_kept_connection_the_peer_closed_is_replaced_without_a_delay()
    {
        var address = IPAddress.Parse("127.0.0.2");
        var sink = await TestSink.StartAsync(address);
        var port = sink.Endpoint.Port;
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await StartAsync(dns, port, o => o.Delivery.IdleTimeout = 30);
        await SendAsync(beacon, "first@example.test");
        await sink.WaitForMessagesAsync(1, Timeout);

        // The peer goes away while Beacon keeps the connection for the next message, and comes back.
        await sink.DisposeAsync();
        await using var again = await TestSink.StartAsync(address, port);
        await SendAsync(beacon, "second@example.test");

        Assert.Equal(["second@example.test"], Assert.Single(await again.WaitForMessagesAsync(1, Timeout)).Recipients);
        Assert.Equal(2, (await beacon.WaitForEventsAsync("delivery", 2)).Count);
        Assert.Empty(beacon.ReadEvents("delay"));
    }

    [Fact]
    public async Task A_message_that_needs_smtputf8_bounces_at_a_peer_without_it()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"), options: new TestSinkOptions { SmtpUtf8 = false });
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await StartAsync(dns, sink.Endpoint.Port, o => BeaconInstance.Listener(o).Extensions.AddRange(["SMTPUTF8", "8BITMIME", "PIPELINING"]));

        await using (var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp))
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@example.org> SMTPUTF8")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<jürgen@example.test>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            await client.SendAsync("Subject: Grüße\r\n\r\nHallo\r\n.\r\n");
            Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        }

        var bounce = Assert.Single(await beacon.WaitForEventsAsync("bounce"));
        Assert.Contains("5.6.7", (string?)bounce["reason"], StringComparison.Ordinal);
        Assert.Empty(sink.Messages);
    }

    internal static Task<BeaconInstance> StartAsync(DnsServer dns, int port, Action<BeaconOptions>? configure = null) =>
        BeaconInstance.StartAsync(o =>
        {
            o.Delivery.Suspended = false;
            o.Delivery.Mode = "mx";
            o.Delivery.Port = port;
            o.Delivery.DnsServers = [dns.Endpoint.ToString()];
            o.Delivery.Tls = "none";
            o.Delivery.Retry = new RetryOptions { InitialInterval = 1, Factor = 1, MaxAge = 600 };
            o.Delivery.ConnectTimeout = 5;
            o.Delivery.CommandTimeout = 10;
            configure?.Invoke(o);
        });

    /// <summary>Sends one message with a link; with <paramref name="tracked"/>, clicks and opens are tracked. Returns its id.</summary>
    internal static async Task<string> SendAsync(BeaconInstance beacon, params string[] recipients) => await SendAsync(beacon, false, recipients);

    internal static async Task<string> SendAsync(BeaconInstance beacon, string recipient, bool tracked) => await SendAsync(beacon, tracked, [recipient]);

    private static async Task<string> SendAsync(BeaconInstance beacon, bool tracked, string[] recipients)
    {
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@example.org>")).Code);
        foreach (var recipient in recipients)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{recipient}>")).Code);
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        var header = tracked ? "X-MSYS-API: {\"campaign_id\": \"spring\", \"options\": {\"open_tracking\": true, \"click_tracking\": true}}\r\n" : string.Empty;
        await client.SendAsync($"From: sender@example.org\r\nTo: {recipients[0]}\r\nSubject: hello\r\n{header}MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><a href=\"https://shop.example.com/\">Shop</a></body></html>\r\n.\r\n");
        var reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);
        return reply.Texts.Single()[^20..];
    }

    /// <summary>A port nothing listens on, for hosts that must not answer.</summary>
    private static int TestPort() => BeaconProcess.FreePort();

    [GeneratedRegex("href=\"([^\"]+)\"")]
    private static partial Regex HrefPattern();
}
