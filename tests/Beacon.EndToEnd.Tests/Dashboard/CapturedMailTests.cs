using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Beacon.EndToEnd.Tests.Dashboard;

/// <summary>The mail viewer's endpoints over capture mode's real copies, and their strict ids.</summary>
public sealed class CapturedMailTests
{
    [Fact]
    public async Task Captured_copies_are_listed_and_shown_with_their_html_sandboxed()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Delivery.Suspended = false);
        var first = await DashboardTraffic.SendAsync(beacon, "mailview", "one@example.com", "two@example.net");
        var second = await DashboardTraffic.SendAsync(beacon, "mailview", "three@example.com");
        await beacon.WaitForEventsAsync("delivery", 3);
        using var api = DashboardTraffic.Api(beacon);

        var list = await DashboardTraffic.GetJsonAsync(api, "/api/v1/captured");
        var copies = list["results"]!.AsArray().Select(c => c!.AsObject()).ToList();
        // Newest message first; within a message, the recipient indexes as CaptureStore numbers them.
        Assert.Equal([(second, 0, "three@example.com"), (first, 1, "two@example.net"), (first, 0, "one@example.com")],
            copies.Select(c => ((string)c["message_id"]!, (int)c["recipient"]!, (string)c["rcpt_to"]!)));
        Assert.All(copies, c =>
        {
            Assert.Equal("Offer mailview", (string?)c["subject"]);
            Assert.Equal("Newsletter <news@example.org>", (string?)c["from"]);
            Assert.Equal("news@example.org", (string?)c["mail_from"]);
            Assert.False(string.IsNullOrEmpty((string?)c["date"]));
            Assert.True((int)c["size"]! > 0);
        });
        Assert.Single((await DashboardTraffic.GetJsonAsync(api, "/api/v1/captured?limit=1"))["results"]!.AsArray());

        var copy = await DashboardTraffic.GetJsonAsync(api, $"/api/v1/captured/{first}/1");
        Assert.Equal("two@example.net", (string?)copy["rcpt_to"]);
        Assert.True((bool)copy["has_html"]!);
        Assert.Equal("Plain text of mailview", ((string)copy["text"]!).Trim());
        Assert.DoesNotContain(copy["headers"]!.AsArray(), h => (string?)h!["name"] == "X-MSYS-API");

        using var html = await api.GetAsync(new Uri($"/api/v1/captured/{first}/1/html", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, html.StatusCode);
        Assert.Equal("text/html", html.Content.Headers.ContentType!.MediaType);
        var policy = html.Headers.GetValues("Content-Security-Policy").Single();
        Assert.StartsWith("sandbox allow-popups allow-popups-to-escape-sandbox;", policy, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("img-src data:", policy, StringComparison.Ordinal);
        var body = await html.Content.ReadAsStringAsync();
        Assert.StartsWith("<base target=\"_blank\">", body, StringComparison.Ordinal);
        Assert.Contains("href=\"http://localhost:8080/f/", body, StringComparison.Ordinal); // the tracked link, to click
        using (var images = await api.GetAsync(new Uri($"/api/v1/captured/{first}/1/html?images=1", UriKind.Relative)))
        {
            Assert.EndsWith("img-src data: http: https:", images.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }

        using var raw = await api.GetAsync(new Uri($"/api/v1/captured/{first}/1/raw", UriKind.Relative));
        Assert.Equal("text/plain", raw.Content.Headers.ContentType!.MediaType);
        var path = beacon.Server.Captured.Find(first, 1)!.Value.Path;
        Assert.Equal(await File.ReadAllBytesAsync(path), await raw.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Ids_that_are_not_a_message_id_and_an_index_are_400_and_unknown_copies_404()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Delivery.Suspended = false);
        var id = await DashboardTraffic.SendAsync(beacon, "ids", "one@example.com");
        await beacon.WaitForEventsAsync("delivery");
        using var api = DashboardTraffic.Api(beacon);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync(new Uri($"/api/v1/captured/{id}/0", UriKind.Relative))).StatusCode);

        string[] garbage =
        [
            "..%2F..%2Fkeys%2Fkeyring.json/0", "..%2Fcapture/0", id.ToUpperInvariant() + "/0", id[..19] + "/0", id + "0/0",
            id + "/01", id + "/-1", id + "/+1", id + "/1e3", id + "/abc", id + "/9999999", id + "/0x1", "..%5C..%5Ckeys/0",
        ];
        foreach (var path in garbage)
        {
            foreach (var suffix in new[] { string.Empty, "/html", "/raw" })
            {
                await DashboardTraffic.AssertErrorAsync(api, $"/api/v1/captured/{path}{suffix}", HttpStatusCode.BadRequest, "1200");
            }
        }

        await DashboardTraffic.AssertErrorAsync(api, "/api/v1/captured/ffffffffffffffffffff/0", HttpStatusCode.NotFound, "1600");
        await DashboardTraffic.AssertErrorAsync(api, $"/api/v1/captured/{id}/1/raw", HttpStatusCode.NotFound, "1600");
        await DashboardTraffic.AssertErrorAsync(api, "/api/v1/captured?limit=0", HttpStatusCode.BadRequest, "1200");

        // Dot segments sent as they are (HttpClient would remove them): never a file outside the capture folder.
        foreach (var target in new[] { "/api/v1/captured/%2E%2E/%2E%2E/keys/keyring.json/0", "/api/v1/captured/../../keys/keyring.json/0", "/api/v1/captured/../keys/keyring.json", $"/api/v1/captured/{id}/../../../keys/keyring.json/raw" })
        {
            var (status, text) = await RawGetAsync(beacon, target);
            Assert.True(status is 400 or 404, $"{target}: {status}");
            Assert.DoesNotContain("\"keys\"", text, StringComparison.Ordinal);
        }
    }

    /// <summary>One GET with the request target exactly as given.</summary>
    private static async Task<(int Status, string Text)> RawGetAsync(BeaconInstance beacon, string target)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(beacon.Api);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: {beacon.Api}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var text = await reader.ReadToEndAsync(timeout.Token);
        return (int.Parse(text.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture), text);
    }
}
