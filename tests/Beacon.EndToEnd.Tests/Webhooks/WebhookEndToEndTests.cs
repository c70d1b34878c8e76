using System.Globalization;
using Beacon.EndToEnd.Tests.Postgres;
using Beacon.Events;
using Beacon.Webhooks;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.EndToEnd.Tests.Webhooks;

/// <summary>Dispatchers on the real clock against a real PostgreSQL store and a real HTTP endpoint.</summary>
[Collection("postgres")]
public sealed class WebhookEndToEndTests(PostgresServer server) : IAsyncLifetime
{
    private const string Secret1 = "old-secret-0123456789";
    private const string Secret2 = "new-secret-0123456789";
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
    private string _connectionString = null!;

    public async Task InitializeAsync() => _connectionString = await server.CreateDatabaseAsync("webhooks");

    public Task DisposeAsync() => Task.CompletedTask;

    private static WebhookOptions Hook(string url, int batchSize = 4) => new()
    {
        Name = "crm",
        Target = url,
        Events = ["delivery", "click"],
        AuthToken = "secret-token",
        Secrets = [Secret1, Secret2],
        BatchSize = batchSize,
        BatchInterval = 0.2,
        Timeout = 1,
        RetryBase = 0.2,
        RetryMaxInterval = 1,
    };

    private static WebhookService Service(IEventStore store, WebhookOptions hook, string node) =>
        new(store, [hook], new TestHttpClientFactory(), TimeProvider.System, NullLogger.Instance, node, Poll, leaseMargin: TimeSpan.FromSeconds(1));

    private static List<BeaconEvent> Events(int first, int count, EventType type = EventType.Delivery, DateTimeOffset? at = null) =>
        [.. Enumerable.Range(first, count).Select(n => new BeaconEvent(type, n.ToString(CultureInfo.InvariantCulture), at ?? DateTimeOffset.UtcNow))];

    /// <summary>Until the webhook's cursor in the store reaches <paramref name="sequence"/>, for at most 30 s.</summary>
    private static async Task WaitForCursorAsync(PostgresEventStore store, long sequence)
    {
        for (var i = 0; i < 1500 && await store.GetCursorAsync("webhook:crm", CancellationToken.None) < sequence; i++)
        {
            await Task.Delay(20);
        }

        Assert.True(await store.GetCursorAsync("webhook:crm", CancellationToken.None) >= sequence, $"the webhook cursor reaches {sequence}");
    }

    private static IEnumerable<string> Ids(int first, int count) => Enumerable.Range(first, count).Select(n => n.ToString(CultureInfo.InvariantCulture));

    [Fact]
    public async Task Failures_and_timeouts_are_retried_under_the_same_batch_id_until_every_event_arrived_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync("fail", "hang", "fail", "ok", "fail");
        await using var store = await PostgresEventStore.OpenAsync(_connectionString, CancellationToken.None);
        await store.AppendAsync(Events(1, 6), CancellationToken.None);
        await store.AppendAsync(Events(100, 3, EventType.Open), CancellationToken.None); // not this webhook's
        await using var service = Service(store, Hook(receiver.Url), "node1");

        await service.StartAsync(CancellationToken.None);
        await store.AppendAsync(Events(7, 4, EventType.Click), CancellationToken.None);
        await receiver.WaitUntilAsync(r => r.Accepted.Sum(a => a.EventIds.Count) >= 10, TimeSpan.FromSeconds(60));
        await service.StopAsync(CancellationToken.None);

        var requests = receiver.Requests.ToList();
        Assert.Equal(["fail", "hang", "fail", "ok"], requests.Take(4).Select(r => r.Answer));
        Assert.Single(requests.Take(4).Select(r => r.BatchId).Distinct()); // one batch, retried
        Assert.Equal(requests[0].EventIds, requests[3].EventIds);
        Assert.Equal(Ids(1, 10), receiver.Accepted.SelectMany(r => r.EventIds)); // all, once, in order
        Assert.Equal(receiver.Accepted.Count(), receiver.Accepted.Select(r => r.BatchId).Distinct().Count());
        Assert.All(requests, r =>
        {
            Assert.Equal("secret-token", r.Token);
            Assert.True(WebhookSignature.Verify(r.Signature!, r.Body, Secret1, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
            Assert.True(WebhookSignature.Verify(r.Signature!, r.Body, Secret2, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
        });
        var status = Assert.Single(service.Status);
        Assert.Equal(0, status.ConsecutiveFailures);
        Assert.Equal(0, status.DroppedBatches);
        Assert.NotNull(status.LastSuccess);
        Assert.Equal(13, await store.GetCursorAsync("webhook:crm", CancellationToken.None));
    }

    [Fact]
    public async Task Two_nodes_on_one_store_send_every_batch_exactly_once_and_the_survivor_takes_over()
    {
        await using var receiver = await WebhookReceiver.StartAsync("fail");
        await using var store1 = await PostgresEventStore.OpenAsync(_connectionString, CancellationToken.None);
        await using var store2 = await PostgresEventStore.OpenAsync(_connectionString, CancellationToken.None);
        await using var node1 = Service(store1, Hook(receiver.Url, batchSize: 7), "node1");
        await using var node2 = Service(store2, Hook(receiver.Url, batchSize: 7), "node2");
        await node1.StartAsync(CancellationToken.None);
        await node2.StartAsync(CancellationToken.None);

        for (var i = 0; i < 20; i++)
        {
            await (i % 2 == 0 ? store1 : store2).AppendAsync(Events((i * 5) + 1, 5), CancellationToken.None);
            await Task.Delay(20);
        }

        await receiver.WaitUntilAsync(r => r.Accepted.Sum(a => a.EventIds.Count) >= 100, TimeSpan.FromSeconds(60));
        Assert.Single(new[] { node1, node2 }, n => n.Status[0].Sending);

        // The sender stops (as a node that dies between batches); the other takes the lease once it expires.
        var sender = node1.Status[0].Sending ? node1 : node2;
        await WaitForCursorAsync(store1, 100); // the last batch was received; its cursor write is on its way

        var survivor = sender == node1 ? node2 : node1;
        await sender.StopAsync(CancellationToken.None);
        await store1.AppendAsync(Events(101, 30), CancellationToken.None);
        await receiver.WaitUntilAsync(r => r.Accepted.Sum(a => a.EventIds.Count) >= 130, TimeSpan.FromSeconds(60));
        await WaitForCursorAsync(store2, 130); // as above: a stop while the answer is on its way would send the batch again

        await survivor.StopAsync(CancellationToken.None);

        Assert.Equal(Ids(1, 130), receiver.Accepted.SelectMany(r => r.EventIds));
        Assert.Equal(receiver.Accepted.Count(), receiver.Accepted.Select(r => r.BatchId).Distinct().Count());
        Assert.True(survivor.Status[0].Sending);
        Assert.Equal(130, await store2.GetCursorAsync("webhook:crm", CancellationToken.None));
    }

    [Fact]
    public async Task Replay_resends_a_time_range_without_moving_the_live_cursor()
    {
        await using var receiver = await WebhookReceiver.StartAsync("fail");
        await using var store = await PostgresEventStore.OpenAsync(_connectionString, CancellationToken.None);
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        for (var hour = 0; hour < 10; hour++)
        {
            await store.AppendAsync(Events((hour * 3) + 1, 3, hour % 2 == 0 ? EventType.Delivery : EventType.Click, t0.AddHours(hour)), CancellationToken.None);
            await store.AppendAsync(Events(1000 + hour, 1, EventType.Open, t0.AddHours(hour)), CancellationToken.None);
        }

        await store.SetCursorAsync("webhook:crm", 5, CancellationToken.None);
        var progress = new StringWriter();
        using var client = new HttpClient();
        var replay = new WebhookReplay(store, Hook(receiver.Url, batchSize: 4), client, TimeProvider.System, progress) { RetryDelay = TimeSpan.FromMilliseconds(10) };

        var sent = await replay.RunAsync(t0.AddHours(2), t0.AddHours(5), CancellationToken.None);

        Assert.Equal(12, sent);
        Assert.Equal(Ids(7, 12), receiver.Accepted.SelectMany(r => r.EventIds));
        Assert.Equal([4, 4, 4], receiver.Accepted.Select(r => r.EventIds.Count));
        Assert.Equal(receiver.Requests.First().BatchId, receiver.Accepted.First().BatchId); // the failed batch was retried
        Assert.Equal(5, await store.GetCursorAsync("webhook:crm", CancellationToken.None));
        Assert.Contains("12/12 (100%)", progress.ToString(), StringComparison.Ordinal);
        Assert.Contains("done, 12 events in 3 batches", progress.ToString(), StringComparison.Ordinal);
    }
}
