using Beacon.Events;

namespace Beacon.EndToEnd.Tests.Postgres;

[Collection("postgres")]
public sealed class PostgresEventStoreTests(PostgresServer server) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private PostgresEventStore _store = null!;
    private string _connectionString = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await server.CreateDatabaseAsync("store");
        _store = await PostgresEventStore.OpenAsync(_connectionString, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    internal static BeaconEvent Event(EventType type, int n, DateTimeOffset at, string? campaign = null, string? recipient = null) =>
        new BeaconEvent(type, n.ToString(System.Globalization.CultureInfo.InvariantCulture), at)
            .Set("message_id", $"m{n % 3}")
            .Set("transmission_id", $"t{n % 2}")
            .Set("campaign_id", campaign)
            .Set("rcpt_to", recipient ?? $"user{n}@example.com");

    [Fact]
    public async Task Appended_events_read_back_in_order_with_their_fields_and_json()
    {
        var events = Enumerable.Range(1, 5).Select(n => Event(EventType.Delivery, n, T0.AddSeconds(n), "spring")).ToList();
        await _store.AppendAsync(events, CancellationToken.None);

        var read = await _store.ReadAfterAsync(0, 100, null, CancellationToken.None);

        Assert.Equal(5, read.Count);
        Assert.Equal(read.Select(e => e.Sequence).Order(), read.Select(e => e.Sequence));
        Assert.Equal(events.Select(e => e.ToJson()), read.Select(e => e.Json));
        Assert.Equal(T0.AddSeconds(1), read[0].Timestamp);
        Assert.Equal(("m1", "t1", "spring", "user1@example.com", EventType.Delivery),
            (read[0].MessageId, read[0].TransmissionId, read[0].CampaignId, read[0].Recipient, read[0].Type));
        Assert.Equal(2, (await _store.ReadAfterAsync(read[2].Sequence, 100, null, CancellationToken.None)).Count);
        Assert.Equal(2, (await _store.ReadAfterAsync(0, 2, null, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Reads_filter_by_type()
    {
        await _store.AppendAsync([Event(EventType.Delivery, 1, T0), Event(EventType.Click, 2, T0), Event(EventType.Open, 3, T0)], CancellationToken.None);

        var read = await _store.ReadAfterAsync(0, 100, new HashSet<EventType> { EventType.Click, EventType.Open }, CancellationToken.None);

        Assert.Equal([EventType.Click, EventType.Open], read.Select(e => e.Type));
        Assert.Equal(read[^1].Sequence, await _store.LatestSequenceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Search_filters_pages_newest_first_and_counts()
    {
        var events = Enumerable.Range(1, 25)
            .Select(n => Event(n % 5 == 0 ? EventType.Bounce : EventType.Delivery, n, T0.AddMinutes(n), n <= 10 ? "a" : "b"))
            .ToList();
        await _store.AppendAsync(events, CancellationToken.None);

        var first = await _store.SearchAsync(new EventQuery { PerPage = 10 }, CancellationToken.None);
        Assert.Equal(25, first.TotalCount);
        Assert.Equal(10, first.Events.Count);
        Assert.Equal("25", Id(first.Events[0]));
        var second = await _store.SearchAsync(new EventQuery { PerPage = 10, BeforeSequence = first.NextBeforeSequence }, CancellationToken.None);
        var third = await _store.SearchAsync(new EventQuery { PerPage = 10, BeforeSequence = second.NextBeforeSequence }, CancellationToken.None);
        Assert.Equal(5, third.Events.Count);
        Assert.Null(third.NextBeforeSequence);
        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            first.Events.Concat(second.Events).Concat(third.Events).Select(Id));

        var bounces = await _store.SearchAsync(new EventQuery { Types = new HashSet<EventType> { EventType.Bounce }, Campaigns = ["b"] }, CancellationToken.None);
        Assert.Equal(["25", "20", "15"], bounces.Events.Select(Id));
        Assert.Equal(3, bounces.TotalCount);

        var byRecipient = await _store.SearchAsync(new EventQuery { Recipients = ["USER7@example.com"] }, CancellationToken.None);
        Assert.Equal(["7"], byRecipient.Events.Select(Id));

        var byIds = await _store.SearchAsync(new EventQuery { MessageIds = ["m0"], TransmissionIds = ["t1"] }, CancellationToken.None);
        Assert.Equal(["21", "15", "9", "3"], byIds.Events.Select(Id));

        var window = await _store.SearchAsync(new EventQuery { From = T0.AddMinutes(3), To = T0.AddMinutes(5) }, CancellationToken.None);
        Assert.Equal(["5", "4", "3"], window.Events.Select(Id));
    }

    [Fact]
    public async Task Purge_removes_only_older_events()
    {
        await _store.AppendAsync(Enumerable.Range(1, 6).Select(n => Event(EventType.Delivery, n, T0.AddDays(n))).ToList(), CancellationToken.None);

        Assert.Equal(3, await _store.PurgeAsync(T0.AddDays(4), CancellationToken.None));

        Assert.Equal(["4", "5", "6"], (await _store.ReadAfterAsync(0, 100, null, CancellationToken.None)).Select(Id));
    }

    [Fact]
    public async Task Cursors_start_at_zero_and_keep_what_was_set()
    {
        Assert.Equal(0, await _store.GetCursorAsync("webhook:a", CancellationToken.None));
        await _store.SetCursorAsync("webhook:a", 42, CancellationToken.None);
        await _store.SetCursorAsync("webhook:a", 43, CancellationToken.None);
        await _store.SetCursorAsync("webhook:b", 7, CancellationToken.None);

        await using var other = await PostgresEventStore.OpenAsync(_connectionString, CancellationToken.None);
        Assert.Equal(43, await other.GetCursorAsync("webhook:a", CancellationToken.None));
        Assert.Equal(7, await other.GetCursorAsync("webhook:b", CancellationToken.None));
    }

    [Fact]
    public async Task A_lease_belongs_to_one_owner_until_it_expires()
    {
        Assert.True(await _store.TryLeaseAsync("webhook:a", "node1", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.False(await _store.TryLeaseAsync("webhook:a", "node2", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.True(await _store.TryLeaseAsync("webhook:a", "node1", TimeSpan.FromSeconds(30), CancellationToken.None)); // renewal
        Assert.True(await _store.TryLeaseAsync("webhook:b", "node2", TimeSpan.FromSeconds(30), CancellationToken.None));

        Assert.True(await _store.TryLeaseAsync("webhook:c", "node1", TimeSpan.FromMilliseconds(1), CancellationToken.None));
        await Task.Delay(20); // the database's clock decides expiry; this is the one wait it needs
        Assert.True(await _store.TryLeaseAsync("webhook:c", "node2", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.False(await _store.TryLeaseAsync("webhook:c", "node1", TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_appenders_never_let_a_cursor_reader_skip_or_repeat_an_event()
    {
        const int writers = 6, batches = 40, perBatch = 5;
        var seen = new List<StoredEvent>();
        using var done = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            long cursor = 0;
            while (true)
            {
                var finished = done.IsCancellationRequested;
                var page = await _store.ReadAfterAsync(cursor, 50, null, CancellationToken.None);
                seen.AddRange(page);
                if (page.Count > 0)
                {
                    cursor = page[^1].Sequence;
                }
                else if (finished)
                {
                    return;
                }
            }
        });

        var appenders = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            await using var store = await PostgresEventStore.OpenAsync(_connectionString, CancellationToken.None);
            for (var b = 0; b < batches; b++)
            {
                var events = Enumerable.Range(0, perBatch).Select(i => Event(EventType.Delivery, (w * 10_000) + (b * perBatch) + i, T0)).ToList();
                await store.AppendAsync(events, CancellationToken.None);
            }
        })).ToList();
        await Task.WhenAll(appenders);
        await done.CancelAsync();
        await reader;

        Assert.Equal(writers * batches * perBatch, seen.Count);
        Assert.Equal(seen.Count, seen.Select(e => Id(e)).Distinct().Count());
        Assert.Equal(seen.Select(e => e.Sequence).Order(), seen.Select(e => e.Sequence));
        // Each writer's events keep their order.
        foreach (var group in seen.GroupBy(e => int.Parse(Id(e), System.Globalization.CultureInfo.InvariantCulture) / 10_000))
        {
            var ids = group.Select(e => int.Parse(Id(e), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(ids.Order(), ids);
        }
    }

    internal static string Id(StoredEvent e) =>
        System.Text.Json.JsonDocument.Parse(e.Json).RootElement.GetProperty("msys").EnumerateObject().First().Value.GetProperty("event_id").GetString()!;
}
