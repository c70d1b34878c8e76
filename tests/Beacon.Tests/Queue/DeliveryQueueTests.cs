using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Beacon.Config;
using Beacon.Events;
using Beacon.Queue;
using Beacon.Spool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Queue;

/// <summary>
/// The queue against a scripted next hop (the outside world) with a fake clock: retries, max age, operator
/// bounces, several destinations, recovery. The spool is a real one in a temporary directory.
/// </summary>
public sealed class DeliveryQueueTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dataDir = Directory.CreateTempSubdirectory("beacon-queue-").FullName;
    private readonly FakeTimeProvider _time = new(Start);
    private SpoolStore _spool;
    private readonly EventPipeline _events;
    private readonly ConcurrentQueue<(string Domain, int Attempt)> _attempts = new();
    private DeliveryQueue? _queue;

    public DeliveryQueueTests()
    {
        _spool = new SpoolStore(_dataDir, NullLogger.Instance);
        _events = new EventPipeline(_dataDir, NullLogger<EventPipeline>.Instance);
    }

    /// <summary>What the next hop answers for a recipient domain at the n-th attempt (1-based).</summary>
    private Func<string, int, DeliveryOutcome> Answer { get; set; } = (_, _) => DeliveryOutcome.Delivered;

    [Fact]
    public async Task A_temporary_failure_is_retried_after_the_interval_and_then_delivered()
    {
        Answer = (_, attempt) => attempt == 1 ? DeliveryOutcome.Deferred : DeliveryOutcome.Delivered;
        var message = Spool("a@example.com");
        await StartAsync(message);

        await WaitForRetryAsync(1);
        var waiting = _spool.TryRead(message.MessageId)!.Recipients[0];
        Assert.Equal(Start.AddSeconds(60), waiting.NextAttemptAt);
        Assert.Equal("451 4.4.1 try later", waiting.LastError);

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Single(_attempts);
        _time.Advance(TimeSpan.FromSeconds(1));
        await WaitForAsync(() => _spool.Contains(message.MessageId) ? null : "removed");

        var events = await EventsAsync();
        Assert.Equal(["delay", "delivery"], events.Select(e => (string?)e["type"]));
        Assert.Equal(["0", "1"], events.Select(e => (string?)e["num_retries"]));
        Assert.Equal("60000", (string?)events[1]["queue_time"]);
        Assert.Equal("70", (string?)events[0]["bounce_class"]);
    }

    [Fact]
    public async Task A_recipient_still_failing_at_max_age_bounces_with_class_24()
    {
        Answer = (_, _) => DeliveryOutcome.Deferred;
        var message = Spool("a@example.com");
        await StartAsync(message, new RetryOptions { InitialInterval = 60, Factor = 2, MaxAge = 150 });

        await WaitForRetryAsync(1);
        _time.Advance(TimeSpan.FromSeconds(60)); // second attempt at 60 s, next would be 180 s: capped to 150 s
        await WaitForRetryAsync(2);
        _time.Advance(TimeSpan.FromSeconds(90));
        await WaitForAsync(() => _spool.Contains(message.MessageId) ? null : "removed");

        var events = await EventsAsync();
        Assert.Equal(["delay", "delay", "bounce"], events.Select(e => (string?)e["type"]));
        Assert.Equal("24", (string?)events[2]["bounce_class"]);
        Assert.Contains("expired", (string?)events[2]["reason"], StringComparison.Ordinal);
        Assert.Contains("451 4.4.1 try later", (string?)events[2]["reason"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operator_bounce_ends_waiting_recipients_with_class_25_and_retry_tries_now()
    {
        Answer = (_, _) => DeliveryOutcome.Deferred;
        var first = Spool("a@example.com");
        var second = Spool("b@example.com");
        await StartAsync(first, second);
        await WaitForAsync(() => _attempts.Count == 2 && _queue!.Waiting == 2 ? "yes" : null);

        Assert.True(_queue!.Retry(first.MessageId));
        await WaitForAttemptsAsync(3);
        Assert.True(await _queue.BounceAsync(second.MessageId));
        Assert.False(await _queue.BounceAsync("00000000000000000000"));
        await WaitForAsync(() => _spool.Contains(second.MessageId) ? null : "removed");

        var bounce = Assert.Single(await EventsAsync(), e => (string?)e["type"] == "bounce");
        Assert.Equal(("b@example.com", "25"), ((string?)bounce["rcpt_to"], (string?)bounce["bounce_class"]));
        Assert.True(_spool.Contains(first.MessageId));
    }

    [Fact]
    public async Task Recipients_of_several_domains_finish_apart_and_the_message_leaves_with_the_last()
    {
        Answer = (domain, attempt) => domain == "slow.example" && attempt == 1 ? DeliveryOutcome.Deferred : DeliveryOutcome.Delivered;
        var message = Spool("a@fast.example", "b@slow.example", "c@fast.example");
        await StartAsync(message);

        await WaitForAsync(() => _attempts.Count == 3 && _queue!.Waiting == 1 ? "yes" : null);
        var states = _spool.TryRead(message.MessageId)!.Recipients.Select(r => r.State).ToArray();
        Assert.Equal([RecipientState.Delivered, RecipientState.Queued, RecipientState.Delivered], states);
        Assert.Equal(2, _attempts.Count(a => a.Domain == "fast.example"));

        _time.Advance(TimeSpan.FromSeconds(60));
        await WaitForAsync(() => _spool.Contains(message.MessageId) ? null : "removed");
        Assert.Equal(3, (await EventsAsync()).Count(e => (string?)e["type"] == "delivery"));
    }

    [Fact]
    public async Task A_snapshot_counts_deferred_items_and_messages_per_destination()
    {
        Answer = (domain, _) => domain == "slow.example" ? DeliveryOutcome.Deferred : DeliveryOutcome.Delivered;
        var first = Spool("a@fast.example", "b@slow.example", "c@slow.example");
        var second = Spool("d@slow.example");
        await StartAsync(first, second);
        await WaitForAsync(() => _attempts.Count == 4 && _queue!.Waiting == 2 ? "yes" : null);

        var snapshot = _queue!.Snapshot();
        Assert.Equal((2, 2), (snapshot.Messages, snapshot.Deferred));
        // fast.example's queue is empty now; slow.example waits with both messages (one item each) for the clock.
        Assert.Equal(
            [new DestinationSnapshot("slow.example", RouteKind.Mx, 2, 0, 2, 0, 20), new DestinationSnapshot("fast.example", RouteKind.Mx, 0, 0, 0, 0, 20)],
            snapshot.Destinations);

        Answer = (_, _) => DeliveryOutcome.Delivered;
        _time.Advance(TimeSpan.FromSeconds(60));
        await WaitForAsync(() => _queue.Messages == 0 ? "yes" : null);
        Assert.All(_queue.Snapshot().Destinations, d => Assert.Equal((0, 0, 0), (d.Messages, d.Ready, d.Deferred)));
    }

    [Fact]
    public async Task After_a_restart_recipients_wait_for_their_stored_time_and_requested_bounces_happen()
    {
        var later = Spool("a@example.com") is var m ? m with { Recipients = [m.Recipients[0] with { NextAttemptAt = Start.AddSeconds(30), Attempts = 2 }] } : null!;
        var bounced = Spool("b@example.com") is var b ? b with { Recipients = [b.Recipients[0] with { BounceRequested = true }] } : null!;
        var done = Spool("c@example.com") is var d ? d with { Recipients = [d.Recipients[0] with { State = RecipientState.Delivered }] } : null!;
        foreach (var message in new[] { later, bounced, done })
        {
            _spool.Update(message);
        }

        _spool.Dispose(); // a restart: a new process reads the spool back
        _spool = new SpoolStore(_dataDir, NullLogger.Instance);
        await StartAsync(_spool.Recover().ToArray());
        await WaitForAsync(() => _spool.Contains(bounced.MessageId) ? null : "removed");
        Assert.False(_spool.Contains(done.MessageId));
        Assert.Empty(_attempts);

        _time.Advance(TimeSpan.FromSeconds(30));
        await WaitForAsync(() => _spool.Contains(later.MessageId) ? null : "removed");
        var delivery = Assert.Single(await EventsAsync(), e => (string?)e["type"] == "delivery");
        Assert.Equal("2", (string?)delivery["num_retries"]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_queue is not null)
        {
            await _queue.DisposeAsync();
        }

        await _events.DisposeAsync();
        _spool.Dispose();
        Directory.Delete(_dataDir, recursive: true);
    }

    private Task StartAsync(params SpooledMessage[] messages) => StartAsync(messages, new RetryOptions());

    private Task StartAsync(SpooledMessage message, RetryOptions retry) => StartAsync([message], retry);

    private async Task StartAsync(SpooledMessage[] messages, RetryOptions retry)
    {
        var options = new DeliveryOptions { Mode = "mx", Retry = retry };
        _queue = new DeliveryQueue(options, _spool, new DeliveryEvents(_events, new MessageIdGenerator("test", _time), "test"), new Router(options), _time, NullLogger<DeliveryQueue>.Instance);
        await _queue.StartAsync(messages, async (destination, _) =>
        {
            while (await destination.TakeAsync(TimeSpan.Zero) is { } item)
            {
                var outcomes = item.Recipients.Select(i =>
                {
                    var attempt = item.Message.Recipients[i].Attempts + 1;
                    _attempts.Enqueue((destination.Route.Domain, attempt));
                    return Answer(destination.Route.Domain, attempt) switch
                    {
                        DeliveryOutcome.Delivered => new RecipientOutcome(i, DeliveryOutcome.Delivered, "250 2.0.0 ok", RemoteIp: "192.0.2.25"),
                        DeliveryOutcome.Deferred => new RecipientOutcome(i, DeliveryOutcome.Deferred, "451 4.4.1 try later", BounceClass: 70),
                        _ => new RecipientOutcome(i, DeliveryOutcome.Bounced, "550 5.1.1 no such user", BounceClass: 10),
                    };
                }).Distinct().ToList();
                await destination.CompleteAsync(item, outcomes);
            }
        });
    }

    private readonly MessageIdGenerator _ids = new("test", TimeProvider.System);

    private SpooledMessage Spool(params string[] recipients)
    {
        var id = _ids.NextMessageId(); // one generator: two of them give the same id within a millisecond
        var body = "Subject: test\r\n\r\nhello\r\n"u8.ToArray();
        var message = new SpooledMessage
        {
            MessageId = id,
            TransmissionId = "1",
            ReceivedAt = Start,
            MailFrom = "sender@example.org",
            Size = body.Length,
            Listener = "default",
            RemoteIp = "127.0.0.1",
            Recipients = [.. recipients.Select(r => new SpooledRecipient { Address = r })],
        };
        _spool.CommitAsync(message, body).GetAwaiter().GetResult();
        return message;
    }

    private async Task WaitForAttemptsAsync(int count) => await WaitForAsync(() => _attempts.Count >= count ? "yes" : null);

    /// <summary>Until the <paramref name="count"/>-th attempt failed and its retry waits for the clock.</summary>
    private async Task WaitForRetryAsync(int count) => await WaitForAsync(() => _attempts.Count >= count && _queue!.Waiting == 1 ? "yes" : null);

    /// <summary>Bounded polling for what worker tasks do in the background.</summary>
    private static async Task<T> WaitForAsync<T>(Func<T?> probe)
        where T : class
    {
        for (var i = 0; i < 500; i++)
        {
            if (probe() is { } value)
            {
                return value;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("the queue did not get there within 5 s");
    }

    private async Task<List<JsonObject>> EventsAsync()
    {
        await _queue!.StopAsync();
        await _events.DisposeAsync();
        await using var store = SqliteEventStore.Open(_dataDir);
        var stored = await store.ReadAfterAsync(0, int.MaxValue, null, CancellationToken.None);
        return [.. stored.Select(e => (JsonObject)((JsonObject)JsonNode.Parse(e.Json)!["msys"]!).Single().Value!)];
    }
}
