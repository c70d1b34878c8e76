using System.Text;
using Beacon.Links;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Beacon.EndToEnd.Tests.Delivery;

/// <summary>Capture mode, the embedded default: each recipient's rendered copy is kept in the data dir.</summary>
public sealed class CaptureTests
{
    [Fact]
    public async Task Each_recipient_gets_its_own_tracked_copy_without_the_header_and_a_delivery_event()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Delivery.Suspended = false);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("news@example.org"));
        message.To.Add(MailboxAddress.Parse("one@example.com"));
        message.Cc.Add(MailboxAddress.Parse("Two@Example.net"));
        message.Subject = "Spring sale";
        message.Headers.Add("X-MSYS-API", """{"campaign_id": "spring", "metadata": {"tier": "gold"}, "options": {"open_tracking": true, "click_tracking": true}}""");
        message.Body = new TextPart("html") { Text = "<html><body><p><a href=\"https://shop.example.com/sale?a=1&amp;b=2\">Shop</a></p></body></html>" };

        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", beacon.Smtp.Port, MailKit.Security.SecureSocketOptions.None);
            await client.SendAsync(message);
            await client.DisconnectAsync(true);
        }

        var deliveries = await beacon.WaitForEventsAsync("delivery", 2);
        Assert.All(deliveries, d =>
        {
            Assert.Equal("capture", (string?)d["delv_method"]);
            Assert.Equal("spring", (string?)d["campaign_id"]);
            Assert.Equal("1", (string?)d["links_tracked"]);
            Assert.Equal("0", (string?)d["num_retries"]);
        });
        await BeaconInstance.WaitUntilAsync(() => !beacon.Queue.Any(), "the message to leave the spool");

        var codec = beacon.Server.Services.GetRequiredService<LinkCodec>();
        var copies = beacon.Server.Captured.List().ToList();
        Assert.Equal(["Two@Example.net", "one@example.com"], copies.Select(c => c.Envelope.Recipient).Order(StringComparer.Ordinal));
        foreach (var (path, envelope) in copies)
        {
            var text = await File.ReadAllTextAsync(path, Encoding.UTF8);
            Assert.DoesNotContain("X-MSYS-API", text, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("Subject: Spring sale", text, StringComparison.Ordinal);
            var parsed = MimeMessage.Load(path);
            var html = parsed.HtmlBody ?? string.Empty;
            var href = System.Text.RegularExpressions.Regex.Match(html, "href=\"([^\"]+)\"").Groups[1].Value;
            Assert.StartsWith("http://localhost:8080/f/", href, StringComparison.Ordinal);
            Assert.True(codec.TryOpenUrl(href, out var click, out _));
            Assert.Equal("https://shop.example.com/sale?a=1&b=2", click!.Link.Target);
            Assert.Equal(envelope.Recipient, click.Link.Recipient);
            Assert.Equal("""{"tier":"gold"}""", click.Link.Metadata);
            var pixel = System.Text.RegularExpressions.Regex.Match(html, "src=\"([^\"]+/q/[^\"]+)\"").Groups[1].Value;
            Assert.True(codec.TryOpenUrl(pixel, out var open, out _));
            Assert.Equal(LinkKind.Open, open!.Link.Kind);
            Assert.Equal(envelope.Recipient, open.Link.Recipient);
        }
    }

    [Fact]
    public async Task Links_taken_from_the_captured_copy_redirect_and_record_open_and_click_events()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Delivery.Suspended = false);
        await using (var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp))
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<news@example.org>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<reader@example.com>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            await client.SendAsync("From: news@example.org\r\nSubject: loop\r\nX-MSYS-API: {\"campaign_id\": \"loop\", \"options\": {\"open_tracking\": true, \"click_tracking\": true}}\r\n" +
                "Content-Type: text/html\r\n\r\n<html><body><a data-msys-linkname=\"cta\" href=\"https://shop.example.com/x\">x</a></body></html>\r\n.\r\n");
            Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        }

        await beacon.WaitForEventsAsync("delivery");
        var (path, _) = Assert.Single(beacon.Server.Captured.List());
        var html = MimeMessage.Load(path).HtmlBody ?? string.Empty;
        string Link(string pattern) => System.Text.RegularExpressions.Regex.Match(html, pattern).Groups[1].Value.Replace("localhost:8080", beacon.Tracker.ToString(), StringComparison.Ordinal);
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        http.DefaultRequestHeaders.UserAgent.ParseAdd("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");

        var pixel = await http.GetAsync(new Uri(Link("src=\"([^\"]+/q/[^\"]+)\"")));
        Assert.Equal("image/gif", pixel.Content.Headers.ContentType!.MediaType);
        var click = await http.GetAsync(new Uri(Link("href=\"([^\"]+/f/[^\"]+)\"")));
        Assert.Equal(System.Net.HttpStatusCode.Found, click.StatusCode);
        Assert.Equal("https://shop.example.com/x", click.Headers.Location!.OriginalString);

        var open = Assert.Single(await beacon.WaitForEventsAsync("open"));
        var clicked = Assert.Single(await beacon.WaitForEventsAsync("click"));
        Assert.Equal(("loop", "reader@example.com", "cta"), ((string?)clicked["campaign_id"], (string?)clicked["rcpt_to"], (string?)clicked["target_link_name"]));
        Assert.Equal((string?)open["message_id"], (string?)clicked["message_id"]);
        Assert.NotNull(clicked["classification"]);
    }
}
