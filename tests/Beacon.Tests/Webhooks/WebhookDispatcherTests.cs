using System.Globalization;
using System.Text.Json;
using Beacon.Events;
using Beacon.Webhooks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Webhooks;

public sealed class WebhookDispatcherTests
{
    private const string Secret1 = "first-secret-0123456789";
    private const string Secret2 = "second-secret-0123456789";
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
    private readonly InMemoryEventStore _store;

    public WebhookDispatcherTests() => _store = new InMemoryEventStore(_time);

    private static WebhookOptions Options(int batchSize = 100, double interval = 30) => new()
    {
        Name = "crm",
        Target = "http://127.0.0.1:9/hook",
        Events = ["delivery", "bounce", "click"],
        AuthToken = "token-1",
        CustomHeaders = new() { ["X-Tenant"] = "acme" },
        Secrets = [Secret1, Secret2],
        BatchSize = batchSize,
        BatchInterval = interval,
    };

    private WebhookDispatcher Dispatcher(WebhookOptions options, ScriptedHandler handler, string owner = "node1") =>
        new(options, _store, new HttpClient(handler), _time, NullLogger.Instance, owner, Poll);

    private async Task AppendAsync(EventType type, int count)
    {
        var events = Enumerable.Range(0, count).Select(i => new BeaconEvent(type, $"{type}-{i}", _time.GetUtcNow()).Set("rcpt_to", $"r{i}@example.com")).ToList();
        await _store.AppendAsync(events, CancellationToken.None);
    }

    /// <summary>Steps the dispatcher, moving the fake clock by each returned wait, for <paramref name="duration"/>.</summary>
    private async Task DriveAsync(WebhookDispatcher dispatcher, TimeSpan duration)
    {
        var end = _time.GetUtcNow() + duration;
        while (_time.GetUtcNow() < end)
        {
            var wait = await dispatcher.RunOnceAsync(CancellationToken.None);
            var left = end - _time.GetUtcNow();
            _time.Advance(wait < left ? wait : left);
        }
    }

    private static List<string> EventIds(ScriptedHandler.Received request) =>
        [.. JsonDocument.Parse(request.Body).RootElement.EnumerateArray()
            .Select(e => e.GetProperty("msys").EnumerateObject().First().Value.GetProperty("event_id").GetString()!)];

    [Fact]
    public async Task A_full_batch_goes_at_once_and_the_rest_waits_for_the_interval()
    {
        var handler = new ScriptedHandler(_time, 200);
        var dispatcher = Dispatcher(Options(batchSize: 3), handler);
        await AppendAsync(EventType.Delivery, 7);

        await DriveAsync(dispatcher, TimeSpan.FromSeconds(29));
        Assert.Equal(2, handler.Requests.Count);
        Assert.Equal(["Delivery-0", "Delivery-1", "Delivery-2"], EventIds(handler.Requests[0]));

        await DriveAsync(dispatcher, TimeSpan.FromSeconds(2));
        Assert.Equal(3, handler.Requests.Count);
        Assert.Equal(["Delivery-6"], EventIds(handler.Requests[2]));
        Assert.Equal(7, await _store.GetCursorAsync("webhook:crm", CancellationToken.None));
        Assert.Equal((3, 7L, 0L), (dispatcher.Status.BatchesSent, dispatcher.Status.EventsSent, dispatcher.Status.Lag));
        Assert.Equal(3, handler.Requests.Select(r => r.BatchId).Distinct().Count());
    }

    [Fact]
    public async Task Events_wait_for_the_interval_when_the_batch_is_not_full()
    {
        var handler = new ScriptedHandler(_time, 200);
        var dispatcher = Dispatcher(Options(interval: 30), handler);
        await AppendAsync(EventType.Delivery, 2);

        await DriveAsync(dispatcher, TimeSpan.FromSeconds(29.5));
        Assert.Empty(handler.Requests);
        await DriveAsync(dispatcher, TimeSpan.FromSeconds(1));
        Assert.Single(handler.Requests);
        Assert.Equal(2, EventIds(handler.Requests[0]).Count);
    }

    [Fact]
    public async Task Only_the_webhooks_types_are_sent_and_the_cursor_passes_the_others()
    {
        var handler = new ScriptedHandler(_time, 200);
        var dispatcher = Dispatcher(Options(interval: 1), handler);
        await AppendAsync(EventType.Open, 2);
        await AppendAsync(EventType.Click, 1);
        await AppendAsync(EventType.Injection, 3);

        await DriveAsync(dispatcher, TimeSpan.FromSeconds(5));

        Assert.Single(handler.Requests);
        Assert.Equal(["Click-0"], EventIds(handler.Requests[0]));
        Assert.Equal(6, await _store.GetCursorAsync("webhook:crm", CancellationToken.None));
    }

    [Fact]
    public async Task Headers_carry_token_batch_id_agent_custom_headers_and_a_signature_under_each_secret()
    {
        var handler = new ScriptedHandler(_time, 204);
        var dispatcher = Dispatcher(Options(interval: 1), handler);
        await AppendAsync(EventType.Bounce, 2);

        await DriveAsync(dispatcher, TimeSpan.FromSeconds(2));

        var request = Assert.Single(handler.Requests);
        Assert.Equal("application/json", request.Headers["Content-Type"]);
        Assert.Equal("token-1", request.Headers["X-MessageSystems-Webhook-Token"]);
        Assert.True(Guid.TryParse(request.BatchId, out _));
        Assert.StartsWith("Beacon/", request.Headers["User-Agent"], StringComparison.Ordinal);
        Assert.Equal("acme", request.Headers["X-Tenant"]);
        var signature = request.Headers[WebhookSignature.Header];
        Assert.StartsWith($"t={request.At.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)},v1=", signature, StringComparison.Ordinal);
        Assert.Equal(2, signature.Split(",v1=").Length - 1);
        Assert.True(WebhookSignature.Verify(signature, request.Body, Secret1, _time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        Assert.True(WebhookSignature.Verify(signature, request.Body, Secret2, _time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(signature, request.Body, "another-secret-0123456", _time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(signature, [.. request.Body, (byte)' '], Secret1, _time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(signature, request.Body, Secret1, _time.GetUtcNow().AddMinutes(10), TimeSpan.FromMinutes(5)));
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("bounce", body[0].GetProperty("msys").GetProperty("message_event").GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_failing_batch_is_retried_with_the_same_id_on_the_backoff_schedule_then_dropped_after_four_hours()
    {
        var handler = new ScriptedHandler(_time, 500, 0, 503);
        var dispatcher = Dispatcher(Options(interval: 1), handler);
        await AppendAsync(EventType.Delivery, 3);

        await DriveAsync(dispatcher, TimeSpan.FromHours(5));

        var first = handler.Requests[0].At;
        var minutes = handler.Requests.Select(r => (r.At - first).TotalMinutes).ToList();
        Assert.Equal([0, 1, 3, 7, 15, 31, 63, 123, 183, 240], minutes);
        Assert.Single(handler.Requests.Select(r => r.BatchId).Distinct());
        Assert.Single(handler.Requests.Select(r => Convert.ToBase64String(r.Body)).Distinct());
        var status = dispatcher.Status;
        Assert.Equal((1L, 3L, 10), (status.DroppedBatches, status.DroppedEvents, status.ConsecutiveFailures));
        Assert.Equal(Guid.Parse(handler.Requests[0].BatchId), status.LastDroppedBatchId);
        Assert.StartsWith("HTTP 503", status.LastError, StringComparison.Ordinal);
        Assert.Equal(3, await _store.GetCursorAsync("webhook:crm", CancellationToken.None));
    }

    [Fact]
    public async Task After_failures_the_same_batch_succeeds_then_the_next_events_follow_in_order()
    {
        var handler = new ScriptedHandler(_time, 500, 0, 200);
        var dispatcher = Dispatcher(Options(interval: 1), handler);
        await AppendAsync(EventType.Delivery, 2);

        await DriveAsync(dispatcher, TimeSpan.FromMinutes(2));
        Assert.Equal(2, handler.Requests.Count);
        Assert.Equal(2, dispatcher.Status.Lag);
        Assert.Equal(2, dispatcher.Status.ConsecutiveFailures);
        Assert.Equal("no answer within 6 s", dispatcher.Status.LastError);
        await AppendAsync(EventType.Click, 1); // arrives while the batch is being retried: not added to it

        await DriveAsync(dispatcher, TimeSpan.FromMinutes(3));

        Assert.Equal(4, handler.Requests.Count);
        Assert.Equal(handler.Requests[0].BatchId, handler.Requests[2].BatchId);
        Assert.Equal(["Delivery-0", "Delivery-1"], EventIds(handler.Requests[2]));
        Assert.Equal(["Click-0"], EventIds(handler.Requests[3]));
        Assert.NotEqual(handler.Requests[2].BatchId, handler.Requests[3].BatchId);
        Assert.Equal((0, 0L), (dispatcher.Status.ConsecutiveFailures, dispatcher.Status.DroppedBatches));
        Assert.NotNull(dispatcher.Status.LastSuccess);
    }

    [Fact]
    public async Task Only_the_lease_holder_sends_and_another_node_takes_over_from_the_shared_cursor()
    {
        var handler1 = new ScriptedHandler(_time, 200);
        var handler2 = new ScriptedHandler(_time, 200);
        var node1 = Dispatcher(Options(interval: 1), handler1, "node1");
        var node2 = Dispatcher(Options(interval: 1), handler2, "node2");
        await AppendAsync(EventType.Delivery, 2);

        for (var i = 0; i < 5; i++)
        {
            await node1.RunOnceAsync(CancellationToken.None);
            await node2.RunOnceAsync(CancellationToken.None);
            _time.Advance(Poll);
        }

        Assert.Single(handler1.Requests);
        Assert.Empty(handler2.Requests);
        Assert.True(node1.Status.Sending);
        Assert.False(node2.Status.Sending);

        // node1 dies; once its lease (timeout + 30 s) expires node2 sends what came after node1's last batch.
        await AppendAsync(EventType.Click, 1);
        await DriveAsync(node2, TimeSpan.FromSeconds(40));

        Assert.Single(handler1.Requests);
        Assert.Equal(["Click-0"], EventIds(Assert.Single(handler2.Requests)));
        Assert.True(node2.Status.Sending);
    }

    [Theory]
    [InlineData("")]
    [InlineData("v1=abc")]
    [InlineData("t=1764237600,v1=zz")]
    [InlineData("t=1764237600,v1=éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé")]
    public void A_malformed_signature_header_does_not_verify(string header)
    {
        Assert.False(WebhookSignature.Verify(header, "[]"u8, Secret1, DateTimeOffset.FromUnixTimeSeconds(1764237600), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void A_signature_is_the_hmac_of_timestamp_dot_body()
    {
        var header = WebhookSignature.Sign("[]"u8, 1764237600, [Secret1]);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("first-secret-0123456789"u8, "1764237600.[]"u8));
        Assert.Equal($"t=1764237600,v1={expected}", header);
    }

    [Fact]
    public async Task The_status_serializes_with_snake_case_names_for_the_api()
    {
        var dispatcher = Dispatcher(Options(interval: 1), new ScriptedHandler(_time, 500));
        await AppendAsync(EventType.Delivery, 2);
        await DriveAsync(dispatcher, TimeSpan.FromSeconds(2));

        var json = JsonDocument.Parse(JsonSerializer.Serialize(dispatcher.Status)).RootElement;

        Assert.Equal("crm", json.GetProperty("name").GetString());
        Assert.True(json.GetProperty("sending").GetBoolean());
        Assert.Equal(1, json.GetProperty("consecutive_failures").GetInt32());
        Assert.Equal(2, json.GetProperty("lag").GetInt64());
        Assert.Equal("HTTP 500 Internal Server Error", json.GetProperty("last_error").GetString());
        Assert.Equal(JsonValueKind.String, json.GetProperty("retrying_batch_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("last_success").ValueKind);
    }

    [Fact]
    public void Backoff_doubles_from_the_base_up_to_the_cap()
    {
        var dispatcher = Dispatcher(Options(), new ScriptedHandler(_time, 200));
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], Enumerable.Range(1, 9).Select(n => dispatcher.Backoff(n).TotalMinutes));
    }
}
