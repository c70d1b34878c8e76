using System.Net;
using System.Text.RegularExpressions;
using Beacon.EndToEnd.Tests.Sink;
using Beacon.EndToEnd.Tests.Webhooks;
using Beacon.Smtp;
using MimeKit;

namespace Beacon.EndToEnd.Tests.Observability;

/// <summary>
/// GET /metrics over real traffic: mail in over SMTP, delivered (capture, or a real SMTP sink), a tracked link
/// followed over HTTP; then the scrape parsed as Prometheus text and its counters and gauges compared with what
/// the test did.
/// </summary>
public sealed class MetricsEndpointTests
{
    private const string Key = "e2e-metrics-key-0123456789";

    [Fact]
    public async Task Counters_follow_smtp_delivery_tracking_and_events_and_the_key_is_required()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            o.Delivery.Suspended = false;
            o.Api.Keys.Add(Key);
        });
        using (var anonymous = new HttpClient { BaseAddress = new Uri($"http://{beacon.Api}") })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
        }

        var before = await Scrape.GetAsync(beacon.Api, Key);
        Assert.Equal(0, before.Value("beacon_smtp_messages_accepted_total"));

        await SendAsync(beacon, "one@example.com", "two@example.net");
        await SendAsync(beacon, "three@example.com");
        await using (var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp))
        {
            Assert.Equal(503, (await client.CommandAsync("RCPT TO:<nobody@example.com>")).Code); // no MAIL first
        }

        await beacon.WaitForEventsAsync("delivery", 3);
        using var tracker = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        var (path, _) = beacon.Server.Captured.List().First();
        var html = MimeMessage.Load(path).HtmlBody!;
        var link = Regex.Match(html, "href=\"([^\"]+/f/[^\"]+)\"").Groups[1].Value.Replace("localhost:8080", beacon.Tracker.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Found, (await tracker.GetAsync(new Uri(link))).StatusCode);
        await beacon.WaitForEventsAsync("click", 1);

        // A connection held open while scraping: the gauge counts it, then lets it go.
        await using var held = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Scrape scrape = null!;
        await BeaconInstance.WaitUntilAsync(async () =>
        {
            scrape = await Scrape.GetAsync(beacon.Api, Key);
            return scrape.Value("beacon_events_written_total", ("type", "click")) == 1 && scrape.Value("beacon_smtp_connections_open", ("listener", "default")) == 1
                && scrape.Value("beacon_queue_messages") == 0 && scrape.Value("beacon_spool_messages") == 0;
        }, "the click written, one connection open and the queue empty", TimeSpan.FromSeconds(30));

        Assert.Equal(2, scrape.Value("beacon_smtp_messages_accepted_total", ("listener", "default")));
        Assert.Equal(3, scrape.Value("beacon_smtp_recipients_accepted_total", ("listener", "default")));
        Assert.True(scrape.Value("beacon_smtp_received_bytes_total") > 2 * 200, scrape.Text);
        Assert.Equal(1, scrape.Value("beacon_smtp_rejections_total", ("listener", "default"), ("class", "5xx"), ("code", "503")));
        Assert.Equal(0, scrape.Value("beacon_smtp_rejections_total", ("class", "4xx")));
        Assert.Equal(4, scrape.Value("beacon_smtp_connections_total", ("listener", "default")));
        Assert.Equal(3, scrape.Value("beacon_delivery_delivered_total", ("method", "capture")));
        Assert.Equal(0, scrape.Value("beacon_delivery_delayed_total") + scrape.Value("beacon_delivery_bounced_total"));
        Assert.Equal(1, scrape.Value("beacon_tracker_requests_total", ("route", "click"), ("outcome", "recorded")));
        Assert.Equal(0, scrape.Value("beacon_tracker_events_dropped_total"));
        Assert.Equal(3, scrape.Value("beacon_events_written_total", ("type", "injection")));
        Assert.Equal(3, scrape.Value("beacon_events_written_total", ("type", "delivery")));
        Assert.Equal(0, scrape.Value("beacon_events_errors_total"));
        Assert.Equal(0, scrape.Value("beacon_events_store_backlog_bytes"));
        Assert.Empty(scrape.Series("beacon_queue_ready"));

        // Every family has a description and a type; counters end in _total; every sample belongs to a family.
        Assert.All(scrape.Samples, s => Assert.True(scrape.Types.ContainsKey(s.Name), $"{s.Name} has no # TYPE"));
        Assert.All(scrape.Types, t =>
        {
            Assert.False(string.IsNullOrWhiteSpace(scrape.Help.GetValueOrDefault(t.Key)), $"{t.Key} has no # HELP");
            Assert.Equal(t.Key.EndsWith("_total", StringComparison.Ordinal) ? "counter" : "gauge", t.Value);
        });
        foreach (var family in new[] { "beacon_events_waiting", "beacon_events_oldest_waiting_age_seconds", "beacon_events_store_backlog_bytes", "beacon_queue_oldest_age_seconds", "beacon_tracker_rate_limited_total" })
        {
            Assert.True(scrape.Types.ContainsKey(family), $"{family} missing:\n{scrape.Text}");
        }

        Assert.Contains("High", scrape.Help["beacon_smtp_connections_open"], StringComparison.Ordinal);

        // docs/metrics.md lists exactly the families a scrape has, with the same types.
        var documented = Regex.Matches(await File.ReadAllTextAsync(Repository.PathOf("docs/metrics.md")), "^\\| `(beacon_[a-z_]+)` \\| (counter|gauge) \\|", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
        Assert.Equal(scrape.Types.OrderBy(t => t.Key, StringComparer.Ordinal), documented.OrderBy(t => t.Key, StringComparer.Ordinal));
        Assert.Equal(0, scrape.Value("beacon_events_waiting"));
        await held.DisposeAsync();
        await BeaconInstance.WaitUntilAsync(async () => (await Scrape.GetAsync(beacon.Api, Key)).Value("beacon_smtp_connections_open") == 0, "the held connection to close", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Queue_gauges_show_each_destination_and_outcomes_are_counted_by_bounce_class()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback, options: new TestSinkOptions
        {
            OnRcpt = r => r.Address.StartsWith("later", StringComparison.Ordinal) ? new SmtpReply(451, "4.3.0", "Try again later")
                : r.Address.StartsWith("nobody", StringComparison.Ordinal) ? new SmtpReply(550, "5.1.1", "The email account that you tried to reach does not exist")
                : null,
        });
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            o.Delivery.Suspended = false;
            o.Delivery.Mode = "smarthost";
            o.Delivery.Smarthost = $"127.0.0.1:{sink.Endpoint.Port}";
            o.Delivery.Tls = "none";
            o.Delivery.Retry.InitialInterval = 3600;
        });
        await SendAsync(beacon, "ok@example.com", "later@example.com", "nobody@example.com");
        await SendAsync(beacon, "later2@example.net");
        await beacon.WaitForEventsAsync("delay", 2);
        await beacon.WaitForEventsAsync("bounce", 1);
        await beacon.WaitForEventsAsync("delivery", 1);

        Scrape scrape = null!;
        await BeaconInstance.WaitUntilAsync(async () =>
        {
            scrape = await Scrape.GetAsync(beacon.Api);
            return scrape.Value("beacon_queue_retrying") == 2 && scrape.Value("beacon_queue_workers") == 0;
        }, "two work items waiting for their retry and no connection", TimeSpan.FromSeconds(30));

        var retrying = Assert.Single(scrape.Series("beacon_queue_retrying"));
        Assert.Equal($"smarthost 127.0.0.1:{sink.Endpoint.Port}", retrying.Labels["destination"]);
        Assert.Equal(0, scrape.Value("beacon_queue_ready"));
        Assert.Equal(2, scrape.Value("beacon_queue_messages"));
        Assert.Equal(2, scrape.Value("beacon_spool_messages"));
        Assert.True(scrape.Value("beacon_queue_oldest_age_seconds") >= 0);
        Assert.Equal(1, scrape.Value("beacon_delivery_delivered_total", ("method", "esmtp")));
        Assert.Equal(2, scrape.Value("beacon_delivery_delayed_total", ("method", "esmtp")));
        var bounced = Assert.Single(scrape.Series("beacon_delivery_bounced_total"));
        Assert.Equal(("esmtp", "10", "hard", 1.0), (bounced.Labels["method"], bounced.Labels["bounce_class"], bounced.Labels["category"], bounced.Value));
    }

    [Fact]
    public async Task With_delivery_suspended_the_spool_gauge_counts_what_waits_and_no_key_is_needed_on_loopback()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        await SendAsync(beacon, "a@example.com");
        await SendAsync(beacon, "b@example.com", "c@example.org");
        var scrape = await Scrape.GetAsync(beacon.Api);
        Assert.Equal(2, scrape.Value("beacon_spool_messages"));
        var segment = Assert.Single(Directory.GetFiles(beacon.Server.Spool.LogDir));
        Assert.Equal(new FileInfo(segment).Length, scrape.Value("beacon_spool_log_size_bytes")); // both records, nothing else yet
        Assert.Equal(0, scrape.Value("beacon_queue_messages")); // suspended: nothing enters the delivery queue
        Assert.Empty(scrape.Series("beacon_queue_retrying"));
        Assert.Equal(3, scrape.Value("beacon_smtp_recipients_accepted_total"));
    }

    [Fact]
    public async Task Webhook_metrics_count_failed_and_sent_batches_and_the_lag_returns_to_zero()
    {
        await using var receiver = await WebhookReceiver.StartAsync("fail"); // the first attempt fails, the retry succeeds
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            o.Delivery.Suspended = false;
            o.Webhooks.Add(new Beacon.Webhooks.WebhookOptions
            {
                Name = "crm",
                Target = receiver.Url,
                Events = ["injection", "delivery"],
                BatchInterval = 0.2,
                Timeout = 5,
                RetryBase = 0.2,
                RetryMaxInterval = 1,
            });
        });
        await SendAsync(beacon, "a@example.com", "b@example.com");

        Scrape scrape = null!;
        await BeaconInstance.WaitUntilAsync(async () =>
        {
            scrape = await Scrape.GetAsync(beacon.Api);
            return scrape.Value("beacon_webhooks_events_sent_total", ("webhook", "crm")) == 4;
        }, "4 events sent to the webhook", TimeSpan.FromSeconds(30));

        Assert.Equal(1, scrape.Value("beacon_webhooks_batches_failed_total", ("webhook", "crm")));
        Assert.Equal(receiver.Accepted.Count(), scrape.Value("beacon_webhooks_batches_sent_total", ("webhook", "crm")));
        Assert.Equal(0, scrape.Value("beacon_webhooks_lag", ("webhook", "crm")));
        Assert.Equal(0, scrape.Value("beacon_webhooks_consecutive_failures", ("webhook", "crm")));
        Assert.Equal(1, scrape.Value("beacon_webhooks_sending", ("webhook", "crm")));
        Assert.Equal(0, scrape.Value("beacon_webhooks_batches_dropped_total", ("webhook", "crm")) + scrape.Value("beacon_webhooks_events_dropped_total"));
    }

    internal static async Task SendAsync(BeaconInstance beacon, params string[] recipients)
    {
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<news@example.org>")).Code);
        foreach (var recipient in recipients)
        {
            Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<{recipient}>")).Code);
        }

        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        await client.SendAsync("From: news@example.org\r\nSubject: metrics\r\nX-MSYS-API: {\"campaign_id\": \"m\", \"options\": {\"open_tracking\": true, \"click_tracking\": true}}\r\n" +
            "Content-Type: text/html\r\n\r\n<html><body><a href=\"https://shop.example.com/x\">x</a></body></html>\r\n.\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
    }
}
