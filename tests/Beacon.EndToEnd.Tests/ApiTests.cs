using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MimeKit;

namespace Beacon.EndToEnd.Tests;

/// <summary>
/// The Message Events and Metrics APIs over real traffic: mail in over SMTP, delivered in capture mode, its
/// tracked links followed over HTTP, then the API asked, and its answers checked against each other.
/// </summary>
public sealed class ApiTests
{
    private const string Key = "e2e-api-key-0123456789";

    [Fact]
    public async Task Events_and_metrics_describe_the_traffic_with_filters_and_paging()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            o.Delivery.Suspended = false;
            o.Api.Keys.Add(Key);
        });
        await SendAsync(beacon, "alpha", "one@example.com", "two@example.net");
        await SendAsync(beacon, "beta", "three@example.com");
        await beacon.WaitForEventsAsync("delivery", 3);

        // one@ opens and clicks twice, two@ only clicks (a confirmed open without a pixel), three@ only opens.
        using var tracker = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        tracker.DefaultRequestHeaders.UserAgent.ParseAdd("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
        foreach (var (path, envelope) in beacon.Server.Captured.List())
        {
            var html = MimeMessage.Load(path).HtmlBody ?? string.Empty;
            string Link(string pattern) => Regex.Match(html, pattern).Groups[1].Value.Replace("localhost:8080", beacon.Tracker.ToString(), StringComparison.Ordinal);
            var (opens, clicks) = envelope.Recipient switch { "one@example.com" => (1, 2), "two@example.net" => (0, 1), _ => (1, 0) };
            for (var i = 0; i < opens; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await tracker.GetAsync(new Uri(Link("src=\"([^\"]+/q/[^\"]+)\"")))).StatusCode);
            }

            for (var i = 0; i < clicks; i++)
            {
                Assert.Equal(HttpStatusCode.Found, (await tracker.GetAsync(new Uri(Link("href=\"([^\"]+/f/[^\"]+)\"")))).StatusCode);
            }
        }

        await beacon.WaitForEventsAsync("click", 3);
        await beacon.WaitForEventsAsync("open", 2);
        using var api = Client(beacon, Key);

        var all = await GetAsync(api, "/api/v1/events/message");
        var events = ((JsonArray)all["results"]!).Select(e => (JsonObject)e!).ToList();
        Assert.Equal(3 + 3 + 3 + 2, events.Count); // injection, delivery per recipient; clicks; opens
        Assert.Equal(events.Count, (int)all["total_count"]!);
        Assert.Null(all["links"]!["next"]);
        // Newest first, by store sequence (commit order): the first injection is last.
        Assert.Equal(("injection", "one@example.com"), ((string?)events[^1]["type"], (string?)events[^1]["rcpt_to"]));
        Assert.Contains((string?)events[0]["type"], new[] { "open", "click" });

        var clicksOnly = await GetAsync(api, "/api/v1/events/message?events=click&campaigns=alpha");
        var clicked = ((JsonArray)clicksOnly["results"]!).Select(e => (JsonObject)e!).ToList();
        Assert.Equal(3, clicked.Count);
        Assert.All(clicked, c =>
        {
            Assert.Equal("click", (string?)c["type"]);
            Assert.Equal("alpha", (string?)c["campaign_id"]);
            Assert.Equal("cta", (string?)c["target_link_name"]);
            Assert.Equal("https://shop.example.com/x", (string?)c["target_link_url"]);
        });

        var messageId = (string)clicked[0]["message_id"]!;
        var byRecipient = await GetAsync(api, $"/api/v1/events/message?recipients=TWO@example.net&message_ids={messageId}");
        Assert.Equal(["click", "delivery", "injection"], ((JsonArray)byRecipient["results"]!).Select(e => (string)e!["type"]!));

        // Paging: two at a time, following the next links, gives the same events in the same order.
        var paged = new List<JsonObject>();
        var next = "/api/v1/events/message?per_page=2";
        while (next is not null)
        {
            var page = await GetAsync(api, next);
            Assert.Equal(events.Count, (int)page["total_count"]!);
            paged.AddRange(((JsonArray)page["results"]!).Select(e => (JsonObject)e!));
            next = (string?)page["links"]!["next"];
        }

        Assert.Equal(events.Select(e => (string)e["event_id"]!), paged.Select(e => (string)e["event_id"]!));

        // Metrics against counts taken from the events API's own answer.
        var from = DateTime.UtcNow.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
        var metrics = await GetAsync(api, $"/api/v1/metrics/deliverability?from={from}&metrics=count_injected,count_targeted,count_delivered,count_rendered,count_unique_rendered,count_unique_confirmed_opened,count_clicked,count_unique_clicked,count_raw_clicked,count_human_clicked");
        var row = (JsonObject)Assert.Single((JsonArray)metrics["results"]!)!;
        int Count(string type) => events.Count(e => (string?)e["type"] == type);
        int Unique(params string[] types) => events.Where(e => types.Contains((string?)e["type"])).Select(e => ((string?)e["message_id"], (string?)e["rcpt_to"])).Distinct().Count();
        Assert.Equal(Count("injection"), (int)row["count_injected"]!);
        Assert.Equal(Count("injection"), (int)row["count_targeted"]!);
        Assert.Equal(Count("delivery"), (int)row["count_delivered"]!);
        Assert.Equal(Count("open"), (int)row["count_rendered"]!);
        Assert.Equal(Unique("open"), (int)row["count_unique_rendered"]!);
        Assert.Equal(Unique("open", "click"), (int)row["count_unique_confirmed_opened"]!);
        Assert.Equal(Count("click"), (int)row["count_clicked"]!);
        Assert.Equal(Unique("click"), (int)row["count_unique_clicked"]!);
        Assert.Equal(events.Where(e => (string?)e["type"] == "click").Select(e => ((string?)e["message_id"], (string?)e["rcpt_to"], (string?)e["target_link_url"])).Distinct().Count(), (int)row["count_raw_clicked"]!);
        Assert.Equal(events.Count(e => (string?)e["type"] == "click" && (string?)e["classification"] == "human"), (int)row["count_human_clicked"]!);
        Assert.Equal((3, 3, 2, 2, 3, 3, 2), ((int)row["count_injected"]!, (int)row["count_delivered"]!, (int)row["count_rendered"]!, (int)row["count_unique_rendered"]!, (int)row["count_unique_confirmed_opened"]!, (int)row["count_clicked"]!, (int)row["count_unique_clicked"]!));

        var campaigns = await GetAsync(api, $"/api/v1/metrics/deliverability/campaign?from={from}&metrics=count_clicked,count_rendered");
        Assert.Equal([("alpha", 3, 1), ("beta", 0, 1)], ((JsonArray)campaigns["results"]!).Select(r => ((string)r!["campaign_id"]!, (int)r["count_clicked"]!, (int)r["count_rendered"]!)));
        var links = await GetAsync(api, $"/api/v1/metrics/deliverability/link-name?from={from}&metrics=count_clicked,count_raw_clicked&campaigns=alpha");
        Assert.Equal([("cta", 3, 2)], ((JsonArray)links["results"]!).Select(r => ((string)r!["link_name"]!, (int)r["count_clicked"]!, (int)r["count_raw_clicked"]!)));
        var domains = await GetAsync(api, $"/api/v1/metrics/deliverability/domain?from={from}&metrics=count_delivered");
        Assert.Equal([("example.com", 2), ("example.net", 1)], ((JsonArray)domains["results"]!).Select(r => ((string)r!["domain"]!, (int)r["count_delivered"]!)));
        var series = await GetAsync(api, $"/api/v1/metrics/deliverability/time-series?from={from}&metrics=count_injected&precision=day");
        Assert.Equal(3, ((JsonArray)series["results"]!).Sum(r => (int)r!["count_injected"]!));
        Assert.All((JsonArray)series["results"]!, r => Assert.EndsWith("T00:00:00+00:00", (string)r!["ts"]!, StringComparison.Ordinal));

        // Every minute of the last hour is there, zero or not: 60 or 61 buckets (from is on a minute boundary).
        var minutes = (JsonArray)(await GetAsync(api, $"/api/v1/metrics/deliverability/time-series?from={from}&metrics=count_injected&precision=1min"))["results"]!;
        Assert.InRange(minutes.Count, 60, 62);
        Assert.Equal(3, minutes.Sum(r => (int)r!["count_injected"]!));
        Assert.Contains(minutes, r => (int)r!["count_injected"]! == 0);
    }

    [Fact]
    public async Task Errors_are_401_without_a_key_and_400_for_invalid_parameters_in_sparkposts_shape()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Api.Keys.Add(Key));
        using (var anonymous = Client(beacon, null))
        {
            await AssertErrorAsync(anonymous, "/api/v1/events/message", HttpStatusCode.Unauthorized, "1002");
        }

        using (var wrong = Client(beacon, "not-the-key-0123456789"))
        {
            await AssertErrorAsync(wrong, "/api/v1/events/message", HttpStatusCode.Unauthorized, "1002");
        }

        using var api = Client(beacon, Key);
        using (var basic = Client(beacon, null))
        {
            basic.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Key + ":")));
            Assert.Equal(HttpStatusCode.OK, (await basic.GetAsync(new Uri("/api/v1/events/message", UriKind.Relative))).StatusCode);
        }

        await AssertErrorAsync(api, "/api/v1/events/message?per_page=0", HttpStatusCode.BadRequest, "1200", "per_page");
        await AssertErrorAsync(api, "/api/v1/events/message?events=clicks", HttpStatusCode.BadRequest, "1200", "events");
        await AssertErrorAsync(api, "/api/v1/events/message?from=yesterday", HttpStatusCode.BadRequest, "1200", "from");
        await AssertErrorAsync(api, "/api/v1/events/message?cursor=abc", HttpStatusCode.BadRequest, "1200", "cursor");
        await AssertErrorAsync(api, "/api/v1/metrics/deliverability?metrics=count_clicked", HttpStatusCode.BadRequest, "1200", "from");
        await AssertErrorAsync(api, "/api/v1/metrics/deliverability?from=2026-01-01T00:00", HttpStatusCode.BadRequest, "1200", "metrics");
        await AssertErrorAsync(api, "/api/v1/metrics/deliverability?from=2026-01-01T00:00&metrics=count_nothing", HttpStatusCode.BadRequest, "1200", "count_nothing");
        await AssertErrorAsync(api, "/api/v1/metrics/deliverability/time-series?from=2026-01-01T00:00&metrics=count_clicked&precision=week", HttpStatusCode.BadRequest, "1200", "precision");
        await AssertErrorAsync(api, "/api/v1/metrics/deliverability/time-series?from=2000-01-01T00:00&metrics=count_clicked&precision=1min", HttpStatusCode.BadRequest, "1200", "coarser");
        await AssertErrorAsync(api, "/api/v1/nothing", HttpStatusCode.NotFound, "1600");
    }

    private static async Task SendAsync(BeaconInstance beacon, string campaign, params string[] recipients)
    {
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<news@example.org>")).Code);
        foreach (var recipient in recipients)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{recipient}>")).Code);
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync($"From: news@example.org\r\nSubject: {campaign}\r\nX-MSYS-API: {{\"campaign_id\": \"{campaign}\", \"options\": {{\"open_tracking\": true, \"click_tracking\": true}}}}\r\n" +
            "Content-Type: text/html\r\n\r\n<html><body><a data-msys-linkname=\"cta\" href=\"https://shop.example.com/x\">x</a></body></html>\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
    }

    private static HttpClient Client(BeaconInstance beacon, string? key)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://{beacon.Api}") };
        if (key is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", key);
        }

        return client;
    }

    private static async Task<JsonObject> GetAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return (JsonObject)JsonNode.Parse(text)!;
    }

    private static async Task AssertErrorAsync(HttpClient client, string path, HttpStatusCode status, string code, string? mentions = null)
    {
        var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(status, response.StatusCode);
        var error = (JsonObject)Assert.Single((JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!)!;
        Assert.Equal(code, (string?)error["code"]);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        if (mentions is not null)
        {
            Assert.Contains(mentions, (string?)error["description"], StringComparison.Ordinal);
        }
    }
}
