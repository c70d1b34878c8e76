using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MimeKit;

namespace Beacon.EndToEnd.Tests.Dashboard;

/// <summary>Real traffic for the dashboard's tests: mail in over SMTP with an X-MSYS-API campaign, tracked links
/// taken from the captured copies and followed over HTTP, and the API asked as a browser's fetch would.</summary>
internal static partial class DashboardTraffic
{
    public const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    /// <summary>Sends one tracked HTML message; returns its message id from the 250 reply.</summary>
    public static async Task<string> SendAsync(BeaconInstance beacon, string campaign, params string[] recipients)
    {
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<news@example.org>")).Code);
        foreach (var recipient in recipients)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{recipient}>")).Code);
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync($"From: Newsletter <news@example.org>\r\nTo: {string.Join(", ", recipients)}\r\nSubject: Offer {campaign}\r\n" +
            "Date: Fri, 27 Nov 2026 06:00:00 +0000\r\n" +
            $"X-MSYS-API: {{\"campaign_id\": \"{campaign}\", \"options\": {{\"open_tracking\": true, \"click_tracking\": true}}}}\r\n" +
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain text of " + campaign + "\r\n" +
            "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Hello</p><a data-msys-linkname=\"cta\" href=\"https://shop.example.com/x\">Shop</a></body></html>\r\n" +
            "--b1--\r\n.\r\n");
        var reply = await client.ReadReplyAsync();
        Assert.Equal(250, reply.Code);
        return reply.Texts.Single().Split(' ')[^1];
    }

    /// <summary>Follows the tracked link of one captured copy as a person's browser would (302 to the target).</summary>
    public static async Task ClickAsync(BeaconInstance beacon, string messageId, string recipient)
    {
        var (path, _) = beacon.Server.Captured.List().Single(c => c.Envelope.MessageId == messageId && c.Envelope.Recipient == recipient);
        var html = MimeMessage.Load(path).HtmlBody ?? string.Empty;
        var link = TrackedLink().Match(html).Groups[1].Value.Replace("localhost:8080", beacon.Tracker.ToString(), StringComparison.Ordinal);
        using var tracker = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        tracker.DefaultRequestHeaders.UserAgent.ParseAdd(Firefox);
        Assert.Equal(HttpStatusCode.Found, (await tracker.GetAsync(new Uri(link))).StatusCode);
    }

    public static HttpClient Api(BeaconInstance beacon, string? key = null)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://{beacon.Api}"), Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", key);
        }

        return client;
    }

    public static async Task<JsonObject> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return (JsonObject)JsonNode.Parse(text)!;
    }

    /// <summary>An error in SparkPost's shape with the given status and code.</summary>
    public static async Task AssertErrorAsync(HttpClient client, string path, HttpStatusCode status, string code)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{path}: expected {(int)status}, got {(int)response.StatusCode} {text}");
        var error = (JsonObject)Assert.Single((JsonArray)JsonNode.Parse(text)!["errors"]!)!;
        Assert.Equal(code, (string?)error["code"]);
    }

    [GeneratedRegex("href=\"([^\"]+/f/[^\"]+)\"")]
    private static partial Regex TrackedLink();
}
