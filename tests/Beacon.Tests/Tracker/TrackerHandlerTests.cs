using System.Diagnostics.Metrics;
using System.Net;
using Beacon.Events;
using Beacon.Links;
using Beacon.Spool;
using Beacon.Tests.Links;
using Beacon.Tracker;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Tests.Tracker;

/// <summary>The handler on its own: request in, response out, no sockets. Outcomes are read from the requests counter.</summary>
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
    public void A_click_redirects_to_the_sealed_target_with_no_cache_headers_and_records()
    {
        var response = Send("GET", $"/f/{Token(LinkKit.Click())}");
        Assert.Equal(302, response.Status);
        Assert.Equal(LinkKit.Click().Target, response.Location);
        Assert.True(response.NoCache);
        Assert.Equal("text/plain", response.ContentType);
        Assert.Empty(response.Body);
        Assert.Equal(["recorded"], _outcomes);
    }

    [Theory]
    [InlineData("/f/app/open/{0}")] // sublink segments: the token is the last one
    [InlineData("/f/{0}%3D")]
    [InlineData("/f/{0}~")]
    [InlineData("/f/{0}?utm_source=x")]
    [InlineData("/f/{0}/")]
    public void Click_paths_with_sublinks_padding_and_escapes_still_redirect(string shape)
    {
        var response = Send("GET", string.Format(System.Globalization.CultureInfo.InvariantCulture, shape, Token(LinkKit.Click())));
        Assert.Equal(302, response.Status);
    }

    [Fact]
    public void A_token_percent_encoded_twice_still_redirects()
    {
        var token = Token(LinkKit.Click());
        var escaped = string.Concat(token.Select(c => c == '-' ? "%252D" : c.ToString()));
        Assert.Equal(302, Send("GET", $"/f/{escaped}").Status);
    }

    [Fact]
    public void Tampered_truncated_and_garbage_click_tokens_are_404_and_open_tokens_the_gif_without_events()
    {
        var token = Token(LinkKit.Click());
        var tampered = token[..40] + (token[40] == 'A' ? 'B' : 'A') + token[41..];
        foreach (var bad in new[] { tampered, token[..^5], "not-a-token", string.Empty })
        {
            var response = Send("GET", $"/f/{bad}");
            Assert.Equal(404, response.Status);
            Assert.Null(response.Location);
        }

        var open = Send("GET", $"/q/{Token(LinkKit.Open())[..^4]}");
        Assert.Equal(200, open.Status);
        Assert.Equal("image/gif", open.ContentType);
        Assert.Equal(TrackerHandler.TransparentGif, open.Body);

        // A click token under /q/ is the GIF and nothing else; an open token under /f/ redirects nowhere.
        Assert.Equal("image/gif", Send("GET", $"/o/{token}").ContentType);
        Assert.Equal(404, Send("GET", $"/f/{Token(LinkKit.Open())}").Status);
        Assert.All(_outcomes, o => Assert.Equal("invalid", o));
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("https://example.com/\r\nSet-Cookie: a=b")]
    public void Targets_that_are_not_plain_http_urls_are_not_redirected_to(string target)
    {
        Assert.Equal(404, Send("GET", $"/f/{Token(LinkKit.Click(target))}").Status);
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
    public void Expired_links_answer_but_record_nothing()
    {
        var expired = LinkKit.Click() with { ExpiresAt = LinkKit.Start.ToUnixTimeSeconds() - 1 };
        Assert.Equal(302, Send("GET", $"/f/{Token(expired)}").Status);
        Assert.Equal(200, Send("GET", $"/q/{Token(LinkKit.Open() with { ExpiresAt = 1 })}").Status);
        Assert.Equal(["expired", "expired"], _outcomes);
    }

    [Fact]
    public void Head_answers_like_get_without_a_body_and_records_nothing()
    {
        var click = Send("HEAD", $"/f/{Token(LinkKit.Click())}");
        Assert.Equal(302, click.Status);
        var open = Send("HEAD", $"/q/{Token(LinkKit.Open())}");
        Assert.Equal(200, open.Status);
        Assert.Equal(42, open.Body.Length); // the HTTP layer sends its length and leaves it out
        Assert.Equal(["head", "head"], _outcomes);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("OPTIONS")]
    public void Other_methods_get_405_with_allow(string method)
    {
        var response = Send(method, $"/f/{Token(LinkKit.Click())}");
        Assert.Equal(405, response.Status);
        Assert.Equal("GET, HEAD", response.Allow);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/x/abc")]
    [InlineData("/favicon.ico")]
    [InlineData("/robots.txt/x")]
    [InlineData("/ff/abc")]
    public void Other_paths_are_404(string path) => Assert.Equal(404, Send("GET", path).Status);

    [Fact]
    public void Robots_txt_disallows_everything()
    {
        var response = Send("GET", "/robots.txt");
        Assert.Equal(200, response.Status);
        Assert.Equal("text/plain", response.ContentType);
        Assert.Equal("User-agent: *\nDisallow: /\n", System.Text.Encoding.ASCII.GetString(response.Body));
    }

    [Fact]
    public void Past_the_rate_limit_it_keeps_answering_but_stops_recording()
    {
        var token = Token(LinkKit.Click());
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(302, Send("GET", $"/f/{token}").Status);
        }

        Assert.Equal(["recorded", "recorded", "rate_limited", "rate_limited"], _outcomes);
    }

    private TrackerResponse Send(string method, string target)
    {
        var request = new TrackerRequest
        {
            Method = method switch { "GET" => TrackerMethod.Get, "HEAD" => TrackerMethod.Head, _ => TrackerMethod.Other },
            Target = target,
            Peer = IPAddress.Parse("198.51.100.7"),
            UserAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        };
        return _handler.Handle(request);
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        _metrics.Dispose();
        await _pipeline.DisposeAsync();
        _kit.Dispose();
    }
}
