using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Beacon.Config;

namespace Beacon.EndToEnd.Tests.Dashboard;

/// <summary>
/// The dashboard's protection rule (docs/dashboard.md): with api.keys set, the page, its assets and every JSON
/// endpoint need a key, and a browser is asked for it by the Basic challenge; with no keys, only a loopback
/// api.listen is accepted, where the dashboard is open to this machine; a non-loopback listen without keys never starts.
/// </summary>
public sealed class DashboardAuthTests
{
    private const string Key = "dashboard-key-0123456789";

    private static readonly string[] Paths =
    [
        "/", "/dashboard/dashboard.js", "/dashboard/dashboard.css", "/api/v1/events/stream", "/api/v1/captured",
        "/api/v1/captured/ffffffffffffffffffff/0/html", "/api/v1/queues", "/api/v1/dashboard/info",
    ];

    [Fact]
    public async Task With_keys_every_dashboard_path_needs_one_and_the_browser_is_asked_for_it()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Api.Keys.Add(Key));
        using var anonymous = DashboardTraffic.Api(beacon);
        using var wrong = DashboardTraffic.Api(beacon, "not-the-key-0123456789");
        foreach (var path in Paths)
        {
            foreach (var client in new[] { anonymous, wrong })
            {
                using var refused = await client.GetAsync(new Uri(path, UriKind.Relative));
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
                Assert.Equal("Basic realm=\"beacon\"", refused.Headers.WwwAuthenticate.ToString());
                Assert.DoesNotContain("<html", await refused.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
            }
        }

        // What a browser sends after the challenge: Basic, the key as user name, no password.
        using var browser = DashboardTraffic.Api(beacon);
        browser.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Key + ":")));
        using var page = await browser.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<script type=\"module\" src=\"/dashboard/dashboard.js\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.StartsWith("default-src 'none'; script-src 'self';", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        using var script = await browser.GetAsync(new Uri("/dashboard/dashboard.js", UriKind.Relative));
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);

        // A revalidation is a 304 without a body.
        using var again = new HttpRequestMessage(HttpMethod.Get, new Uri("/dashboard/dashboard.js", UriKind.Relative));
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        using var notModified = await browser.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/api/v1/queues", UriKind.Relative))).StatusCode);
        await DashboardTraffic.AssertErrorAsync(browser, "/dashboard/nothing.js", HttpStatusCode.NotFound, "1600");
    }

    [Fact]
    public async Task Without_keys_on_loopback_the_dashboard_answers_without_one()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        Assert.True(IPAddress.IsLoopback(beacon.Api.Address));
        using var anonymous = DashboardTraffic.Api(beacon);
        foreach (var path in Paths.Where(p => p is not ("/api/v1/events/stream" or "/api/v1/captured/ffffffffffffffffffff/0/html")))
        {
            using var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
        }

        var info = (await DashboardTraffic.GetJsonAsync(anonymous, "/api/v1/dashboard/info"))["results"]!;
        Assert.Equal(("e2e", "capture"), ((string?)info["node_name"], (string?)info["delivery_mode"]));
    }

    [Theory]
    [InlineData("0.0.0.0:0")]
    [InlineData("[::]:0")]
    public async Task A_non_loopback_listen_without_keys_refuses_to_start(string listen)
    {
        // The configuration check says why…
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadOrThrow(null, [new("api:listen", listen), new("data_dir", Path.GetTempPath())]));
        Assert.Contains($"api:listen: '{listen}' is not a loopback address, and api:keys is empty", error.Message, StringComparison.Ordinal);

        // …and the API host refuses too, whatever built the options, before binding anything on that address.
        var dataDir = Directory.CreateTempSubdirectory("beacon-e2e-").FullName;
        try
        {
            var refused = await Assert.ThrowsAsync<ConfigException>(() => BeaconInstance.StartAsync(o => o.Api.Listen = listen, dataDir));
            Assert.Contains("set api:keys to listen beyond this machine", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
