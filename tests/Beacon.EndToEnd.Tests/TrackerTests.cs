using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Beacon.Links;
using Beacon.Spool;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace Beacon.EndToEnd.Tests;

/// <summary>
/// The tracker over real HTTP on port 0. Links are built with the server's own LinkBuilder from the spooled
/// message's settings, as delivery will when it renders each copy.
/// </summary>
public sealed class TrackerTests : IAsyncLifetime
{
    private const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    private BeaconInstance _beacon = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _beacon = await BeaconInstance.StartAsync();
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri($"http://{_beacon.Tracker}"),
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(Firefox);
        _http.DefaultRequestHeaders.AcceptLanguage.ParseAdd("de-DE");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _beacon.DisposeAsync();
    }

    [Fact]
    public async Task A_person_opens_then_clicks_and_both_events_carry_the_messages_data()
    {
        var (message, recipient) = await InjectAsync();
        var rendered = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds(); // delivered an hour ago
        var open = await GetAsync(Url(Link(message, recipient, LinkKind.Open) with { RenderedAt = rendered }));
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        Assert.Equal("image/gif", open.Content.Headers.ContentType!.MediaType);
        Assert.Equal("no-cache, no-store, must-revalidate", open.Headers.NonValidated["Cache-Control"].ToString());
        Assert.Equal(
            Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"), await open.Content.ReadAsByteArrayAsync());

        var click = await GetAsync(Url(Link(message, recipient, LinkKind.Click, "https://shop.example.com/sale?a=1&b=2") with { RenderedAt = rendered, LinkName = "hero" }));
        Assert.Equal(HttpStatusCode.Found, click.StatusCode);
        Assert.Equal("https://shop.example.com/sale?a=1&b=2", click.Headers.Location!.OriginalString);
        Assert.Equal("no-cache, no-store, must-revalidate", click.Headers.NonValidated["Cache-Control"].ToString());
        Assert.Equal("no-cache", click.Headers.Pragma.ToString());
        Assert.Equal("0", click.Content.Headers.GetValues("Expires").Single());
        Assert.Equal("noindex", click.Headers.GetValues("X-Robots-Tag").Single());

        var injection = (await _beacon.WaitForEventsAsync("injection")).Single();
        foreach (var item in new[] { (await _beacon.WaitForEventsAsync("open")).Single(), (await _beacon.WaitForEventsAsync("click")).Single() })
        {
            foreach (var field in new[] { "message_id", "transmission_id", "campaign_id", "rcpt_to", "raw_rcpt_to", "rcpt_tags", "rcpt_meta", "node_name" })
            {
                Assert.True(JsonNode.DeepEquals(injection[field], item[field]), $"{item["type"]}.{field}: {item[field]?.ToJsonString()} != {injection[field]?.ToJsonString()}");
            }

            Assert.Equal("jane.doe@example.com", (string?)item["rcpt_to"]);
            Assert.Equal("Jane.Doe@Example.com", (string?)item["raw_rcpt_to"]);
            Assert.Equal("127.0.0.1", (string?)item["ip_address"]);
            Assert.Equal(Firefox, (string?)item["user_agent"]);
            Assert.Equal("de-DE", (string?)item["accept_language"]);
            Assert.Equal("esmtp", (string?)item["delv_method"]);
            Assert.Matches("^[0-9]+$", (string?)item["event_id"]);
            Assert.Equal("human", (string?)item["classification"]);
            Assert.Equal("""["browser_user_agent"]""", item["classification_reasons"]!.ToJsonString());
            Assert.True((bool)item["first_human"]!);
        }

        var clickEvent = _beacon.ReadEvents("click").Single();
        Assert.Equal("https://shop.example.com/sale?a=1&b=2", (string?)clickEvent["target_link_url"]);
        Assert.Equal("hero", (string?)clickEvent["target_link_name"]);
        Assert.False(_beacon.ReadEvents("open").Single().ContainsKey("target_link_url"));

        // The second click of the same person is human, but no longer the first.
        await GetAsync(Url(Link(message, recipient, LinkKind.Click, "https://shop.example.com/sale?a=1&b=2") with { RenderedAt = rendered }));
        var clicks = await _beacon.WaitForEventsAsync("click", 2);
        Assert.Equal("human", (string?)clicks[1]["classification"]);
        Assert.False(clicks[1].ContainsKey("first_human"));
    }

    [Fact]
    public async Task A_scanner_fetching_every_link_at_delivery_is_labelled_scanner_and_still_recorded()
    {
        var (message, recipient) = await InjectAsync();
        var rendered = DateTimeOffset.UtcNow.ToUnixTimeSeconds(); // just delivered
        string[] targets = ["https://a.example/", "https://b.example/", "https://c.example/"];
        foreach (var target in targets)
        {
            Assert.Equal(HttpStatusCode.Found, (await GetAsync(Url(Link(message, recipient, LinkKind.Click, target) with { RenderedAt = rendered }))).StatusCode);
        }

        var clicks = await _beacon.WaitForEventsAsync("click", 3);
        Assert.Equal(targets, clicks.Select(c => (string?)c["target_link_url"]));
        Assert.All(clicks, c =>
        {
            Assert.Equal("scanner", (string?)c["classification"]);
            Assert.Contains("click_before_open", c["classification_reasons"]!.AsArray().Select(r => (string?)r));
            Assert.False(c.ContainsKey("first_human"));
        });
        Assert.Contains("link_burst", clicks[2]["classification_reasons"]!.AsArray().Select(r => (string?)r));
    }

    [Fact]
    public async Task An_unsubscribe_link_and_the_top_pixel_report_their_own_types()
    {
        var (message, recipient) = await InjectAsync();
        await GetAsync(Url(Link(message, recipient, LinkKind.Click, "https://example.com/unsub?u=7") with { Unsubscribe = true }));
        await GetAsync(Url(Link(message, recipient, LinkKind.InitialOpen)));

        var unsubscribe = (await _beacon.WaitForEventsAsync("link_unsubscribe")).Single();
        Assert.Equal("https://example.com/unsub?u=7", (string?)unsubscribe["target_link_url"]);
        Assert.Equal("jane.doe@example.com", (string?)unsubscribe["rcpt_to"]);
        Assert.Single(await _beacon.WaitForEventsAsync("click"));
        Assert.Single(await _beacon.WaitForEventsAsync("initial_open"));
    }

    [Fact]
    public async Task Bad_tokens_are_404_for_clicks_and_the_gif_for_opens_and_record_nothing()
    {
        var (message, recipient) = await InjectAsync();
        var url = Url(Link(message, recipient, LinkKind.Click, "https://a.example/"));
        var token = url[(url.LastIndexOf('/') + 1)..];
        var tampered = token[..30] + (token[30] == 'x' ? 'y' : 'x') + token[31..];
        foreach (var path in new[] { $"/f/{tampered}", $"/f/{token[..^6]}", "/f/%%%", "/f/", $"/f/{token}AAAA" })
        {
            var response = await GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Null(response.Headers.Location);
        }

        var open = Url(Link(message, recipient, LinkKind.Open));
        var openToken = open[(open.LastIndexOf('/') + 1)..];
        var gif = await GetAsync($"/q/{openToken[..^3]}");
        Assert.Equal(HttpStatusCode.OK, gif.StatusCode);
        Assert.Equal("image/gif", gif.Content.Headers.ContentType!.MediaType);

        await AssertNothingRecordedAsync(message, recipient);
    }

    [Fact]
    public async Task Percent_encoded_tokens_and_sublinks_still_redirect_and_record()
    {
        var (message, recipient) = await InjectAsync();
        var url = Url(Link(message, recipient, LinkKind.Click, "https://a.example/"));
        var token = url[(url.LastIndexOf('/') + 1)..];
        Assert.Equal(HttpStatusCode.Found, (await GetAsync($"/f/{token}%3D")).StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await GetAsync($"/f/{token}%253D%253D")).StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await GetAsync($"/f/open-in-app/x/{token}?utm_source=mail")).StatusCode);
        var builder = _beacon.Server.Services.GetRequiredService<LinkBuilder>();
        var sublinked = builder.Build("http", _beacon.Tracker.ToString(), "open in/app", Link(message, recipient, LinkKind.Click, "https://b.example/"))!;
        Assert.Contains("/f/open%20in/app/", sublinked, StringComparison.Ordinal);
        Assert.Equal("https://b.example/", (await GetAsync(sublinked)).Headers.Location!.OriginalString);
        Assert.Equal(4, (await _beacon.WaitForEventsAsync("click", 4)).Count);
    }

    [Fact]
    public async Task Expired_links_redirect_and_answer_the_gif_but_record_nothing_and_head_records_nothing()
    {
        var (message, recipient) = await InjectAsync();
        var past = DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeSeconds();
        var expired = await GetAsync(Url(Link(message, recipient, LinkKind.Click, "https://expired.example/") with { ExpiresAt = past }));
        Assert.Equal(HttpStatusCode.Found, expired.StatusCode);
        Assert.Equal("https://expired.example/", expired.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(Url(Link(message, recipient, LinkKind.Open) with { ExpiresAt = past }))).StatusCode);

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url(Link(message, recipient, LinkKind.Click, "https://head.example/"))));
        Assert.Equal(HttpStatusCode.Found, head.StatusCode);
        Assert.Equal("https://head.example/", head.Headers.Location!.OriginalString);
        using var headOpen = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url(Link(message, recipient, LinkKind.Open))));
        Assert.Equal(HttpStatusCode.OK, headOpen.StatusCode);
        Assert.Equal(42, headOpen.Content.Headers.ContentLength);
        Assert.Empty(await headOpen.Content.ReadAsByteArrayAsync());

        await AssertNothingRecordedAsync(message, recipient);
    }

    [Fact]
    public async Task With_a_self_signed_certificate_the_tracker_speaks_https_and_http11_only()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.EngagementTracker.Tls = "self-signed");
        using var https = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true }, // Beacon's self-signed certificate
        })
        {
            DefaultRequestVersion = HttpVersion.Version20, // asked for; HTTP/1.1 is what the tracker offers
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        using var robots = await https.GetAsync($"https://localhost:{beacon.Tracker.Port}/robots.txt");
        Assert.Equal(HttpStatusCode.OK, robots.StatusCode);
        Assert.Equal(HttpVersion.Version11, robots.Version);
        Assert.Equal("User-agent: *\nDisallow: /\n", await robots.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Other_methods_paths_and_oversized_requests_get_their_answers()
    {
        using var post = await _http.PostAsync("/f/abc", new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow);
        using var delete = await _http.DeleteAsync("/q/abc");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);

        foreach (var path in new[] { "/", "/index.html", "/api/v1/events", "/robots.txt/more" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(path)).StatusCode);
        }

        var robots = await GetAsync("/robots.txt");
        Assert.Equal(HttpStatusCode.OK, robots.StatusCode);
        Assert.Equal("text/plain", robots.Content.Headers.ContentType!.MediaType);
        Assert.Equal("User-agent: *\nDisallow: /\n", await robots.Content.ReadAsStringAsync());

        Assert.StartsWith("HTTP/1.1 414", await RawAsync($"GET /f/{new string('A', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 431", await RawAsync($"GET /robots.txt HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\n\r\n"), StringComparison.Ordinal);
        var many = string.Concat(Enumerable.Range(0, 100).Select(i => $"X-H{i}: 1\r\n"));
        Assert.StartsWith("HTTP/1.1 431", await RawAsync($"GET /robots.txt HTTP/1.1\r\nHost: x\r\n{many}\r\n"), StringComparison.Ordinal);
    }

    /// <summary>One valid click after the requests under test: the writer keeps order, so once it is there, nothing else came.</summary>
    private async Task AssertNothingRecordedAsync(SpooledMessage message, string recipient)
    {
        await GetAsync(Url(Link(message, recipient, LinkKind.Click, "https://marker.example/")));
        var clicks = await _beacon.WaitForEventsAsync("click");
        Assert.Equal("https://marker.example/", (string?)Assert.Single(clicks)["target_link_url"]);
        Assert.Empty(_beacon.ReadEvents("open"));
    }

    private async Task<(SpooledMessage Message, string Recipient)> InjectAsync()
    {
        var mail = new MimeMessage();
        mail.From.Add(MailboxAddress.Parse("news@example.org"));
        mail.To.Add(MailboxAddress.Parse("Jane.Doe@Example.com"));
        mail.Subject = "Spring sale";
        mail.Headers.Add("X-MSYS-API", """{"campaign_id": "spring", "tags": ["promo", "eu"], "metadata": {"tier": "gold"}, "options": {"open_tracking": true, "click_tracking": true}}""");
        mail.Body = new TextPart("html") { Text = "<a href=\"https://shop.example.com/\">Shop</a>" };
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", _beacon.Smtp.Port, MailKit.Security.SecureSocketOptions.None);
            await client.SendAsync(mail);
            await client.DisconnectAsync(true);
        }

        await _beacon.WaitForEventsAsync("injection");
        var message = Assert.Single(_beacon.Queue);
        return (message, message.Recipients[0].Address);
    }

    /// <summary>What delivery seals into each link of a recipient's copy (ARCHITECTURE.md §1, decision 2).</summary>
    private TrackedLink Link(SpooledMessage message, string recipient, LinkKind kind, string? target = null)
    {
        var tracking = message.Recipients.Single(r => r.Address == recipient).Tracking!;
        Assert.True(tracking.OpenTracking && tracking.ClickTracking);
        return new TrackedLink
        {
            Kind = kind,
            MessageId = message.MessageId,
            TransmissionId = message.TransmissionId,
            CustomerId = tracking.CustomerId,
            Recipient = recipient,
            CampaignId = tracking.CampaignId,
            Tags = tracking.Tags,
            Metadata = tracking.Metadata is null ? null : MetadataLimit.TrimToJson(tracking.Metadata, tracking.MaxMetadataLen),
            Target = target,
            ExpiresAt = message.ReceivedAt.ToUnixTimeSeconds() + tracking.TrackingLinkExpiry,
            NodeName = "e2e",
        };
    }

    private string Url(TrackedLink link) =>
        _beacon.Server.Services.GetRequiredService<LinkBuilder>().Build("http", _beacon.Tracker.ToString(), null, link)!;

    private async Task<HttpResponseMessage> GetAsync(string url) => await _http.GetAsync(url);

    /// <summary>Bytes Kestrel must refuse before the handler: HttpClient would not send them as they are.</summary>
    private async Task<string> RawAsync(string request)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(_beacon.Tracker);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[1024];
        var read = await stream.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}
