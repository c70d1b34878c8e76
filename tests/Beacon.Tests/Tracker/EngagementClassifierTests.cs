using System.Net;
using Beacon.Links;
using Beacon.Tests.Links;
using Beacon.Tracker;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Tracker;

public sealed class EngagementClassifierTests
{
    private const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    private const string Recipient = "jane.doe@example.com";

    private readonly FakeTimeProvider _time = new(LinkKit.Start);
    private readonly EngagementClassifier _classifier;

    public EngagementClassifierTests() => _classifier = new EngagementClassifier(new RecipientStateStore(100), _time);

    private static EngagementRequest Browser => new() { Address = IPAddress.Parse("203.0.113.7"), UserAgent = Firefox };

    private static TrackedLink Click(string target, long? renderedAt = null) => LinkKit.Click(target) with { RenderedAt = renderedAt };

    private static TrackedLink Open(long? renderedAt = null) => LinkKit.Open() with { RenderedAt = renderedAt };

    [Fact]
    public void A_browser_opening_then_clicking_later_is_human_and_first_human_once_each()
    {
        var rendered = LinkKit.Start.ToUnixTimeSeconds();
        _time.Advance(TimeSpan.FromMinutes(3));
        var open = _classifier.Classify(Open(rendered), Recipient, Browser);
        Assert.Equal(new EngagementVerdict(Classification.Human, ClassificationReason.BrowserUserAgent, FirstHuman: true), open);

        _time.Advance(TimeSpan.FromSeconds(20));
        var click = _classifier.Classify(Click("https://a.example/", rendered), Recipient, Browser);
        Assert.Equal(new EngagementVerdict(Classification.Human, ClassificationReason.BrowserUserAgent, FirstHuman: true), click);

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(_classifier.Classify(Open(rendered), Recipient, Browser).FirstHuman);
        Assert.False(_classifier.Classify(Click("https://a.example/", rendered), Recipient, Browser).FirstHuman);

        // Another recipient of the same message has its own firsts.
        Assert.True(_classifier.Classify(Open(rendered), "other@example.com", Browser).FirstHuman);
    }

    [Fact]
    public void A_scanner_fetching_every_link_within_a_second_of_delivery_is_a_scanner_even_with_a_browser_agent()
    {
        var rendered = LinkKit.Start.ToUnixTimeSeconds();
        _time.Advance(TimeSpan.FromMilliseconds(400));
        var first = _classifier.Classify(Click("https://a.example/", rendered), Recipient, Browser);
        _time.Advance(TimeSpan.FromMilliseconds(30));
        var second = _classifier.Classify(Click("https://b.example/", rendered), Recipient, Browser);
        _time.Advance(TimeSpan.FromMilliseconds(30));
        var third = _classifier.Classify(Click("https://c.example/", rendered), Recipient, Browser);

        Assert.Equal(Classification.Scanner, first.Classification);
        Assert.Equal(ClassificationReason.ClickBeforeOpen | ClassificationReason.BrowserUserAgent, first.Reasons);
        Assert.Equal(ClassificationReason.LinkBurst | ClassificationReason.ClickBeforeOpen | ClassificationReason.BrowserUserAgent, second.Reasons);
        Assert.Equal(Classification.Scanner, third.Classification);
        Assert.False(first.FirstHuman || second.FirstHuman || third.FirstHuman);
        Assert.Equal(["link_burst", "click_before_open", "browser_user_agent"], second.Reasons.Names());
    }

    [Fact]
    public void A_burst_without_a_render_time_is_still_seen_from_the_second_link_on()
    {
        var first = _classifier.Classify(Click("https://a.example/"), Recipient, Browser);
        _time.Advance(TimeSpan.FromSeconds(1));
        var second = _classifier.Classify(Click("https://b.example/"), Recipient, Browser);

        Assert.Equal(Classification.Human, first.Classification); // nothing can tell yet: the limit docs/events.md states
        Assert.Equal(Classification.Scanner, second.Classification);
        Assert.Equal(ClassificationReason.LinkBurst | ClassificationReason.BrowserUserAgent, second.Reasons);
    }

    [Fact]
    public void The_same_link_clicked_twice_quickly_is_no_burst_and_a_slow_second_link_is_none_either()
    {
        _classifier.Classify(Click("https://a.example/"), Recipient, Browser);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Classification.Human, _classifier.Classify(Click("https://a.example/"), Recipient, Browser).Classification);
        _time.Advance(EngagementClassifier.BurstWindow);
        Assert.Equal(Classification.Human, _classifier.Classify(Click("https://b.example/"), Recipient, Browser).Classification);
    }

    [Fact]
    public void A_click_soon_after_delivery_but_after_an_open_is_human()
    {
        var rendered = LinkKit.Start.ToUnixTimeSeconds();
        _time.Advance(TimeSpan.FromSeconds(2));
        _classifier.Classify(Open(rendered), Recipient, Browser);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(Classification.Human, _classifier.Classify(Click("https://a.example/", rendered), Recipient, Browser).Classification);
    }

    [Fact]
    public void A_click_before_any_open_but_long_after_delivery_is_human()
    {
        var rendered = LinkKit.Start.ToUnixTimeSeconds();
        _time.Advance(EngagementClassifier.DeliveryWindow + TimeSpan.FromSeconds(1));
        Assert.Equal(Classification.Human, _classifier.Classify(Click("https://a.example/", rendered), Recipient, Browser).Classification);
    }

    [Fact]
    public void An_image_proxys_open_does_not_count_as_the_open_before_a_click()
    {
        var rendered = LinkKit.Start.ToUnixTimeSeconds();
        var gmail = new EngagementRequest { UserAgent = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)" };
        Assert.Equal(Classification.ImageProxy, _classifier.Classify(Open(rendered), Recipient, gmail).Classification);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(Classification.Scanner, _classifier.Classify(Click("https://a.example/", rendered), Recipient, Browser).Classification);
    }

    [Theory]
    [InlineData("Purpose", "prefetch")]
    [InlineData("Sec-Purpose", "prefetch;prerender")]
    [InlineData("X-Moz", "prefetch")]
    [InlineData("X-Purpose", "preview")]
    public void Prefetch_headers_make_a_prefetch(string header, string value)
    {
        var prefetch = ClientSignals.IsPrefetch(
            header == "Purpose" ? value : null, header == "Sec-Purpose" ? value : null, header == "X-Moz" ? value : null, header == "X-Purpose" ? value : null);
        Assert.True(prefetch);
        var verdict = _classifier.Classify(Open(), Recipient, Browser with { Prefetch = prefetch });
        Assert.Equal(Classification.Prefetch, verdict.Classification);
        Assert.Equal(ClassificationReason.PrefetchHeader | ClassificationReason.BrowserUserAgent, verdict.Reasons);
        Assert.False(verdict.FirstHuman);
    }

    [Theory]
    [InlineData("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "198.51.100.1", "proxy_user_agent")]
    [InlineData("Mozilla/5.0", "198.51.100.1", "proxy_user_agent")] // Apple Mail Privacy Protection's bare agent
    [InlineData("YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", "198.51.100.1", "proxy_user_agent")]
    [InlineData(Firefox, "17.58.100.3", "proxy_address")]
    [InlineData(Firefox, "66.102.8.1", "proxy_address")]
    [InlineData(Firefox, "::ffff:66.249.84.1", "proxy_address")]
    public void Image_proxies_are_known_by_agent_or_address(string agent, string address, string reason)
    {
        var verdict = _classifier.Classify(Open(), Recipient, new EngagementRequest { UserAgent = agent, Address = IPAddress.Parse(address) });
        Assert.Equal(Classification.ImageProxy, verdict.Classification);
        Assert.Contains(reason, verdict.Reasons.Names());
    }

    [Fact]
    public void Proxy_addresses_do_not_count_for_clicks()
    {
        var verdict = _classifier.Classify(Click("https://a.example/"), Recipient, Browser with { Address = IPAddress.Parse("17.1.2.3") });
        Assert.Equal(Classification.Human, verdict.Classification);
    }

    [Theory]
    [InlineData("curl/8.5.0")]
    [InlineData("python-requests/2.31.0")]
    [InlineData("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36")]
    [InlineData("Barracuda Sentinel (EE)")]
    public void Robot_agents_are_scanners(string agent)
    {
        var verdict = _classifier.Classify(Click("https://a.example/"), Recipient, new EngagementRequest { UserAgent = agent });
        Assert.Equal(Classification.Scanner, verdict.Classification);
        Assert.Equal(ClassificationReason.ScannerUserAgent, verdict.Reasons);
    }

    [Fact]
    public void No_agent_or_an_unknown_one_is_unknown()
    {
        Assert.Equal(new EngagementVerdict(Classification.Unknown, ClassificationReason.NoUserAgent, false), _classifier.Classify(Open(), Recipient, new EngagementRequest()));
        Assert.Equal(new EngagementVerdict(Classification.Unknown, ClassificationReason.None, false), _classifier.Classify(Open(), Recipient, new EngagementRequest { UserAgent = "SomeApp 1.0" }));
    }

    [Fact]
    public void The_state_store_forgets_the_least_recently_used_recipient_at_its_cap()
    {
        var store = new RecipientStateStore(2);
        store.Get("m", "a").HumanOpenSeen = true;
        store.Get("m", "b").HumanOpenSeen = true;
        Assert.True(store.Get("m", "a").HumanOpenSeen); // a is now the most recent
        store.Get("m", "c");
        Assert.Equal(2, store.Count);
        Assert.True(store.Get("m", "a").HumanOpenSeen);
        Assert.False(store.Get("m", "b").HumanOpenSeen); // forgotten, so new
    }

    [Fact]
    public void Recent_clicks_per_copy_are_bounded()
    {
        for (var i = 0; i < 50; i++)
        {
            _classifier.Classify(Click($"https://{i}.example/"), Recipient, Browser);
        }

        var store = new RecipientStateStore(10);
        var classifier = new EngagementClassifier(store, _time);
        for (var i = 0; i < 50; i++)
        {
            classifier.Classify(Click($"https://{i}.example/"), Recipient, Browser);
        }

        Assert.Equal(RecipientState.MaxRecentClicks, store.Get(LinkKit.Click().MessageId, Recipient).RecentClicks.Count);
    }
}
