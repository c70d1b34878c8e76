using System.Diagnostics.Metrics;
using System.Net;
using Beacon.Events;
using Beacon.Links;
using Beacon.Spool;
using Beacon.Tests.Links;
using Beacon.Tracker;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Tests.Tracker;

/// <summary>The request delegate over DefaultHttpContext: no sockets. Outcomes are read from the requests counter.</summary>
public sealed class TrackerHandlerTests : IAsyncDisposable
{
    private readonly LinkKit _kit = new();
    private readonly EventPipeline _pipeline;
    private readonly TrackerMetrics _metrics = new();
    private readonly MeterListener _listener = new();
    private readonly List<string> _outcomes = [];
    private readonly TrackerHandler _handler;

    public TrackerHandlerTests()
    {
        _pipeline = new EventPipeline(_kit.Directory, NullLogger<EventPipeline>.Instance);
        _handler = new TrackerHandler(
            _kit.Codec, new EngagementClassifier(new RecipientStateStore(100), _kit.Time), new EngagementEvents(new MessageIdGenerator("t", _kit.Time), "t", _kit.Time),
            _pipeline, new ClientRateLimiter(2, 100, _kit.Time), new ClientAddress([]), _metrics, _kit.Time, NullLogger<TrackerHandler>.Instance);
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == _metrics.Requests.Meter && instrument.Name == "beacon.tracker.requests")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome")
                {
                    _outcomes.Add((string)tag.Value!);
                }
            }
        });
        _listener.Start();
    }

    private string Token(TrackedLink link) => _kit.Codec.Seal(link);

    [Fact]
    public async Task A_click_redirects_to_the_sealed_target_with_no_cache_headers_and_records()
    {
        var context = await SendAsync("GET", $"/f/{Token(LinkKit.Click())}");
        Assert.Equal(302, context.Response.StatusCode);
        Assert.Equal(LinkKit.Click().Target, context.Response.Headers.Location.ToString());
        Assert.Equal("no-cache, no-store, must-revalidate", context.Response.Headers.CacheControl.ToString());
        Assert.Equal("no-cache", context.Response.Headers.Pragma.ToString());
        Assert.Equal("0", context.Response.Headers.Expires.ToString());
        Assert.Equal("noindex", context.Response.Headers["X-Robots-Tag"].ToString());
        Assert.Equal(["recorded"], _outcomes);
    }

    [Theory]
    [InlineData("/f/app/open/{0}")] // sublink segments: the token is the last one
    [InlineData("/f/{0}%3D")]
    [InlineData("/f/{0}~")]
    [InlineData("/f/{0}?utm_source=x")]
    [InlineData("/f/{0}/")]
    public async Task Click_paths_with_sublinks_padding_and_escapes_still_redirect(string shape)
    {
        var context = await SendAsync("GET", string.Format(System.Globalization.CultureInfo.InvariantCulture, shape, Token(LinkKit.Click())));
        Assert.Equal(302, context.Response.StatusCode);
    }

    [Fact]
    public async Task A_token_percent_encoded_twice_still_redirects()
    {
        var token = Token(LinkKit.Click());
        var escaped = string.Concat(token.Select(c => c == '-' ? "%252D" : c.ToString()));
        Assert.Equal(302, (await SendAsync("GET", $"/f/{escaped}")).Response.StatusCode);
    }

    [Fact]
    public async Task Tampered_truncated_and_garbage_click_tokens_are_404_and_open_tokens_the_gif_without_events()
    {
        var token = Token(LinkKit.Click());
        var tampered = token[..40] + (token[40] == 'A' ? 'B' : 'A') + token[41..];
        foreach (var bad in new[] { tampered, token[..^5], "not-a-token", string.Empty })
        {
            var context = await SendAsync("GET", $"/f/{bad}");
            Assert.Equal(404, context.Response.StatusCode);
            Assert.False(context.Response.Headers.ContainsKey("Location"));
        }

        var open = await SendAsync("GET", $"/q/{Token(LinkKit.Open())[..^4]}");
        Assert.Equal(200, open.Response.StatusCode);
        Assert.Equal("image/gif", open.Response.ContentType);
        Assert.Equal(TrackerHandler.TransparentGif, ((MemoryStream)open.Response.Body).ToArray());

        // A click token under /q/ is the GIF and nothing else; an open token under /f/ redirects nowhere.
        Assert.Equal("image/gif", (await SendAsync("GET", $"/o/{token}")).Response.ContentType);
        Assert.Equal(404, (await SendAsync("GET", $"/f/{Token(LinkKit.Open())}")).Response.StatusCode);
        Assert.All(_outcomes, o => Assert.Equal("invalid", o));
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("https://example.com/\r\nSet-Cookie: a=b")]
    public async Task Targets_that_are_not_plain_http_urls_are_not_redirected_to(string target)
    {
        Assert.Equal(404, (await SendAsync("GET", $"/f/{Token(LinkKit.Click(target))}")).Response.StatusCode);
    }

    [Fact]
    public void Targets_over_4096_bytes_are_refused_and_non_ascii_is_escaped()
    {
        Assert.False(RedirectTarget.TryGetLocation("https://example.com/" + new string('a', 4077), out _));
        Assert.True(RedirectTarget.TryGetLocation("https://example.com/" + new string('a', 4076), out _));
        Assert.True(RedirectTarget.TryGetLocation("https://example.com/grüße 😀", out var location));
        Assert.Equal("https://example.com/gr%C3%BC%C3%9Fe%20%F0%9F%98%80", location);
    }

    [Fact]
    public async Task Expired_links_answer_but_record_nothing()
    {
        var expired = LinkKit.Click() with { ExpiresAt = LinkKit.Start.ToUnixTimeSeconds() - 1 };
        Assert.Equal(302, (await SendAsync("GET", $"/f/{Token(expired)}")).Response.StatusCode);
        Assert.Equal(200, (await SendAsync("GET", $"/q/{Token(LinkKit.Open() with { ExpiresAt = 1 })}")).Response.StatusCode);
        Assert.Equal(["expired", "expired"], _outcomes);
    }

    [Fact]
    public async Task Head_answers_like_get_without_a_body_and_records_nothing()
    {
        var click = await SendAsync("HEAD", $"/f/{Token(LinkKit.Click())}");
        Assert.Equal(302, click.Response.StatusCode);
        var open = await SendAsync("HEAD", $"/q/{Token(LinkKit.Open())}");
        Assert.Equal(42, open.Response.ContentLength);
        Assert.Equal(0, open.Response.Body.Length);
        Assert.Equal(["head", "head"], _outcomes);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("OPTIONS")]
    public async Task Other_methods_get_405_with_allow(string method)
    {
        var context = await SendAsync(method, $"/f/{Token(LinkKit.Click())}");
        Assert.Equal(405, context.Response.StatusCode);
        Assert.Equal("GET, HEAD", context.Response.Headers.Allow.ToString());
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/x/abc")]
    [InlineData("/favicon.ico")]
    [InlineData("/robots.txt/x")]
    [InlineData("/ff/abc")]
    public async Task Other_paths_are_404(string path) => Assert.Equal(404, (await SendAsync("GET", path)).Response.StatusCode);

    [Fact]
    public async Task Robots_txt_disallows_everything()
    {
        var context = await SendAsync("GET", "/robots.txt");
        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("text/plain", context.Response.ContentType);
        Assert.Equal("User-agent: *\nDisallow: /\n", System.Text.Encoding.ASCII.GetString(((MemoryStream)context.Response.Body).ToArray()));
    }

    [Fact]
    public async Task Past_the_rate_limit_it_keeps_answering_but_stops_recording()
    {
        var token = Token(LinkKit.Click());
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(302, (await SendAsync("GET", $"/f/{token}")).Response.StatusCode);
        }

        Assert.Equal(["recorded", "recorded", "rate_limited", "rate_limited"], _outcomes);
    }

    private async Task<HttpContext> SendAsync(string method, string target)
    {
        var context = new DefaultHttpContext();
        var path = target.Split('?')[0];
        context.Request.Method = method;
        context.Request.Path = PathString.FromUriComponent(path);
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = target;
        context.Request.Headers.UserAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        context.Connection.RemoteIpAddress = IPAddress.Parse("198.51.100.7");
        context.Response.Body = new MemoryStream();
        await _handler.HandleAsync(context);
        return context;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        _metrics.Dispose();
        await _pipeline.DisposeAsync();
        _kit.Dispose();
    }
}
