using System.Net;
using Beacon.EndToEnd.Tests.Sink;
using Beacon.Smtp;
using MimeKit;

namespace Beacon.EndToEnd.Tests.Delivery;

/// <summary>
/// delivery.dsn end to end: a 5xx at the MX host makes Beacon send the sender an RFC 3464 report, with the null
/// reverse-path, to the sender domain's MX (the same sink here); a null-sender message that bounces gets none.
/// </summary>
public sealed class DsnDeliveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly SmtpReply NoSuchUser = new(550, "5.1.1", "The email account that you tried to reach does not exist");

    [Fact]
    public async Task A_5xx_sends_the_sender_a_delivery_status_notification()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"), options: new TestSinkOptions
        {
            OnRcpt = r => r.Address.StartsWith("nobody", StringComparison.Ordinal) ? NoSuchUser : null,
        });
        using var dns = await DnsServer.StartAsync(Records());
        await using var beacon = await MxDeliveryTests.StartAsync(dns, sink.Endpoint.Port, o =>
        {
            o.Delivery.Dsn = true;
            o.Delivery.HeloName = "beacon.example.net";
        });

        var id = await MxDeliveryTests.SendAsync(beacon, "nobody@example.test", "carol@example.test");

        var messages = await sink.WaitForMessagesAsync(2, Timeout);
        Assert.Equal(["carol@example.test"], Assert.Single(messages, m => m.MailFrom.Length > 0).Recipients);
        var dsn = Assert.Single(messages, m => m.MailFrom.Length == 0);
        Assert.Equal(["sender@example.org"], dsn.Recipients);

        var report = MimeMessage.Load(new MemoryStream(dsn.Data));
        Assert.Equal("MAILER-DAEMON@beacon.example.net", report.From.Mailboxes.Single().Address);
        Assert.Equal("sender@example.org", report.To.Mailboxes.Single().Address);
        Assert.Equal("auto-replied", report.Headers["Auto-Submitted"]);
        var multipart = Assert.IsType<MultipartReport>(report.Body);
        Assert.Equal("delivery-status", multipart.ReportType);
        var status = Assert.Single(multipart.OfType<MessageDeliveryStatus>());
        var recipient = Assert.Single(status.StatusGroups.Skip(1));
        Assert.Equal("dns; beacon.example.net", status.StatusGroups[0]["Reporting-MTA"]);
        Assert.Equal(id, status.StatusGroups[0]["X-Beacon-Message-ID"]);
        Assert.Equal("rfc822; nobody@example.test", recipient["Final-Recipient"]);
        Assert.Equal("failed", recipient["Action"]);
        Assert.Equal("5.1.1", recipient["Status"]);
        Assert.Equal("dns; mx1.example.test", recipient["Remote-MTA"]);
        Assert.StartsWith("smtp; 550 5.1.1 The email account", recipient["Diagnostic-Code"], StringComparison.Ordinal);
        Assert.Contains("Subject: hello", dsn.Text, StringComparison.Ordinal);

        // The report is not an injection; its own delivery is evented like any message's, from the null sender.
        // Events reach the store through the journal, a moment after the mail: wait for them, then compare.
        var injections = await beacon.WaitForEventsAsync("injection", 2);
        Assert.Equal(["nobody@example.test", "carol@example.test"], injections.Select(i => (string?)i["rcpt_to"]));
        var deliveries = await beacon.WaitForEventsAsync("delivery", 2);
        Assert.Single(deliveries, d => (string?)d["msg_from"] == string.Empty && (string?)d["rcpt_to"] == "sender@example.org");
        await BeaconInstance.WaitUntilAsync(() => !beacon.Queue.Any(), "the spool to be empty");
    }

    [Fact]
    public async Task A_null_sender_message_that_bounces_gets_no_notification()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"), options: new TestSinkOptions { OnRcpt = _ => NoSuchUser });
        using var dns = await DnsServer.StartAsync(Records());
        await using var beacon = await MxDeliveryTests.StartAsync(dns, sink.Endpoint.Port, o => o.Delivery.Dsn = true);

        await using (var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp))
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<nobody@example.test>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            await client.SendAsync("From: MAILER-DAEMON@example.org\r\nSubject: a bounce\r\n\r\nbody\r\n.\r\n");
            Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        }

        Assert.Single(await beacon.WaitForEventsAsync("bounce"));

        // A report would be committed before the original leaves the spool: an empty spool means none was made.
        await BeaconInstance.WaitUntilAsync(() => !beacon.Queue.Any(), "the spool to be empty");
        Assert.Empty(sink.Messages);
        Assert.Single(beacon.ReadEvents("bounce"));
    }

    [Fact]
    public async Task Without_delivery_dsn_a_bounce_sends_nothing()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"), options: new TestSinkOptions { OnRcpt = _ => NoSuchUser });
        using var dns = await DnsServer.StartAsync(Records());
        await using var beacon = await MxDeliveryTests.StartAsync(dns, sink.Endpoint.Port);

        await MxDeliveryTests.SendAsync(beacon, "nobody@example.test");

        Assert.Single(await beacon.WaitForEventsAsync("bounce"));
        await BeaconInstance.WaitUntilAsync(() => !beacon.Queue.Any(), "the spool to be empty");
        Assert.Empty(sink.Messages);
    }

    /// <summary>Both the recipients' domain and the sender's (example.org) have the sink as MX.</summary>
    private static DnsRecords Records() => new DnsRecords()
        .Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2")
        .Mx("example.org", "mx1.example.org", 10).A("mx1.example.org", "127.0.0.2");
}
