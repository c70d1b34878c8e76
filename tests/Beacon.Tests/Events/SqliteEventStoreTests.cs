using System.Text.Json.Nodes;
using Beacon.Events;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Events;

public sealed class SqliteEventStoreTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dataDir = Directory.CreateTempSubdirectory("beacon-store-").FullName;
    private readonly FakeTimeProvider _time = new(Start);
    private readonly SqliteEventStore _store;

    public SqliteEventStoreTests()
    {
        _store = SqliteEventStore.Open(_dataDir, time: _time);
    }

    private static BeaconEvent Event(EventType type, int minute, string message = "m1", string rcpt = "a@example.com", string? campaign = "c1",
        string? link = null, string? classification = null) =>
        new BeaconEvent(type, $"{type}-{minute}-{message}-{rcpt}", Start.AddMinutes(minute))
            .Set("message_id", message)
            .Set("transmission_id", "t-" + message)
            .Set("campaign_id", campaign)
            .Set("rcpt_to", rcpt)
            .Set("target_link_url", link)
            .Set("target_link_name", link is null ? null : "name-" + link)
            .Set("classification", classification);

    [Fact]
    public async Task Appended_events_come_back_in_order_with_their_fields_and_json()
    {
        Assert.Equal(0, await _store.LatestSequenceAsync(default));
        await _store.AppendAsync([Event(EventType.Injection, 0), Event(EventType.Delivery, 1), Event(EventType.Click, 2, link: "x")], default);

        var all = await _store.ReadAfterAsync(0, 10, null, default);
        Assert.Equal([EventType.Injection, EventType.Delivery, EventType.Click], all.Select(e => e.Type));
        Assert.Equal([1L, 2, 3], all.Select(e => e.Sequence));
        var click = all[2];
        Assert.Equal(("m1", "t-m1", "c1", "a@example.com", Start.AddMinutes(2)), (click.MessageId, click.TransmissionId, click.CampaignId, click.Recipient, click.Timestamp));
        Assert.Equal("x", (string?)JsonNode.Parse(click.Json)!["msys"]!["track_event"]!["target_link_url"]);

        Assert.Equal(3, await _store.LatestSequenceAsync(default));
        Assert.Equal([3L], (await _store.ReadAfterAsync(2, 10, null, default)).Select(e => e.Sequence));
        Assert.Equal([2L], (await _store.ReadAfterAsync(0, 10, new HashSet<EventType> { EventType.Delivery }, default)).Select(e => e.Sequence));
        Assert.Equal([1L, 2], (await _store.ReadAfterAsync(0, 2, null, default)).Select(e => e.Sequence));
    }

    [Fact]
    public async Task Search_filters_newest_first_and_pages_by_cursor()
    {
        var events = Enumerable.Range(0, 25).Select(i => Event(i % 2 == 0 ? EventType.Delivery : EventType.Open, i, message: $"m{i % 5}", rcpt: $"r{i % 3}@example.com", campaign: i < 10 ? "early" : "late")).ToList();
        await _store.AppendAsync(events, default);

        var page = await _store.SearchAsync(new EventQuery { PerPage = 10 }, default);
        Assert.Equal(25, page.TotalCount);
        Assert.Equal(Enumerable.Range(16, 10).Reverse().Select(i => (long)i), page.Events.Select(e => e.Sequence));
        var seen = page.Events.Select(e => e.Sequence).ToList();
        while (page.NextBeforeSequence is { } next)
        {
            page = await _store.SearchAsync(new EventQuery { PerPage = 10, BeforeSequence = next }, default);
            seen.AddRange(page.Events.Select(e => e.Sequence));
        }

        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(i => (long)i), seen);

        var filtered = await _store.SearchAsync(new EventQuery { Types = new HashSet<EventType> { EventType.Open }, Campaigns = ["late"], Recipients = ["R1@Example.com"] }, default);
        var expected = events.Select((e, i) => (e, i)).Where(x => x.i % 2 == 1 && x.i >= 10 && x.i % 3 == 1).Select(x => (long)x.i + 1).Reverse();
        Assert.Equal(expected, filtered.Events.Select(e => e.Sequence));
        Assert.Equal(expected.Count(), filtered.TotalCount);

        var byMessage = await _store.SearchAsync(new EventQuery { MessageIds = ["m0"], TransmissionIds = ["t-m0"] }, default);
        Assert.All(byMessage.Events, e => Assert.Equal("m0", e.MessageId));
        Assert.Equal(5, byMessage.TotalCount);

        var window = await _store.SearchAsync(new EventQuery { From = Start.AddMinutes(5), To = Start.AddMinutes(8) }, default);
        Assert.Equal([8L, 7, 6], window.Events.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Purge_removes_old_events_and_sequences_never_go_back()
    {
        await _store.AppendAsync([Event(EventType.Injection, 0), Event(EventType.Delivery, 10)], default);
        Assert.Equal(1, await _store.PurgeAsync(Start.AddMinutes(5), default));
        Assert.Equal([2L], (await _store.ReadAfterAsync(0, 10, null, default)).Select(e => e.Sequence));

        Assert.Equal(1, await _store.PurgeAsync(Start.AddDays(1), default));
        await _store.AppendAsync([Event(EventType.Bounce, 20)], default);
        Assert.Equal([3L], (await _store.ReadAfterAsync(0, 10, null, default)).Select(e => e.Sequence));
    }

    [Fact]
    public async Task Retention_purges_events_older_than_the_configured_days()
    {
        await _store.AppendAsync([Event(EventType.Injection, 0), Event(EventType.Delivery, 60 * 24 * 2)], default);
        _time.Advance(TimeSpan.FromDays(3));
        var retention = new EventRetention(_store, 2, _time, NullLogger<EventRetention>.Instance);
        Assert.Equal(1, await retention.PurgeOnceAsync(default));
        Assert.Equal([EventType.Delivery], (await _store.ReadAfterAsync(0, 10, null, default)).Select(e => e.Type));
    }

    [Fact]
    public async Task Cursors_are_zero_until_set_and_survive_reopening()
    {
        Assert.Equal(0, await _store.GetCursorAsync("hook", default));
        await _store.SetCursorAsync("hook", 42, default);
        await _store.SetCursorAsync("hook", 43, default);
        await using var reopened = SqliteEventStore.Open(_dataDir);
        Assert.Equal(43, await reopened.GetCursorAsync("hook", default));
        Assert.Equal(0, await reopened.GetCursorAsync("other", default));
    }

    [Fact]
    public async Task A_lease_is_held_by_one_owner_until_it_expires()
    {
        Assert.True(await _store.TryLeaseAsync("hook", "node-a", TimeSpan.FromSeconds(30), default));
        Assert.False(await _store.TryLeaseAsync("hook", "node-b", TimeSpan.FromSeconds(30), default));
        Assert.True(await _store.TryLeaseAsync("hook", "node-a", TimeSpan.FromSeconds(30), default)); // renewal
        Assert.True(await _store.TryLeaseAsync("other", "node-b", TimeSpan.FromSeconds(30), default));
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.True(await _store.TryLeaseAsync("hook", "node-b", TimeSpan.FromSeconds(30), default));
        Assert.False(await _store.TryLeaseAsync("hook", "node-a", TimeSpan.FromSeconds(30), default));
    }

    [Fact]
    public async Task Metrics_follow_the_definitions_and_groupings()
    {
        await _store.AppendAsync(
        [
            Event(EventType.Injection, 0, "m1", "a@x.com"),
            Event(EventType.Injection, 0, "m1", "b@y.com"),
            Event(EventType.PolicyRejection, 0, "m2", "c@x.com"),
            Event(EventType.Delivery, 1, "m1", "a@x.com"),
            Event(EventType.Bounce, 1, "m1", "b@y.com", campaign: "c2"),
            Event(EventType.Open, 2, "m1", "a@x.com", classification: "human"),
            Event(EventType.Open, 3, "m1", "a@x.com", classification: "image_proxy"),
            Event(EventType.Click, 4, "m1", "a@x.com", link: "l1", classification: "human"),
            Event(EventType.Click, 5, "m1", "a@x.com", link: "l1", classification: "human"),
            Event(EventType.Click, 6, "m1", "a@x.com", link: "l2", classification: "scanner"),
            Event(EventType.Click, 70, "m1", "b@y.com", link: "l2", classification: "human"),
        ], default);
        string[] metrics = ["count_injected", "count_targeted", "count_delivered", "count_bounce", "count_rendered", "count_unique_rendered",
            "count_unique_confirmed_opened", "count_clicked", "count_unique_clicked", "count_raw_clicked", "count_human_rendered", "count_human_clicked", "count_unique_human_clicked"];

        var total = Assert.Single(await _store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.None, metrics, Start, Start.AddDays(1)), default));
        Assert.Equal([2L, 3, 1, 1, 2, 1, 2, 4, 2, 3, 1, 3, 2], total.Values);

        var byDomain = await _store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.Domain, ["count_clicked"], Start, Start.AddDays(1)), default);
        Assert.Equal([("x.com", 3L), ("y.com", 1L)], byDomain.Select(r => (r.Key, r.Values[0])));

        var byLink = await _store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.LinkName, ["count_clicked", "count_raw_clicked"], Start, Start.AddDays(1)), default);
        Assert.Equal([("name-l1", 2L, 1L), ("name-l2", 2L, 2L)], byLink.Select(r => (r.Key, r.Values[0], r.Values[1])));

        var byCampaign = await _store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.Campaign, ["count_bounce"], Start, Start.AddDays(1)) { Campaigns = ["c2"] }, default);
        Assert.Equal([("c2", 1L)], byCampaign.Select(r => (r.Key, r.Values[0])));

        var hourly = await _store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.TimeSeries, ["count_clicked"], Start, Start.AddDays(1)) { Precision = TimeSpan.FromHours(1) }, default);
        Assert.Equal([(Start.ToUnixTimeMilliseconds().ToString(), 3L), (Start.AddHours(1).ToUnixTimeMilliseconds().ToString(), 1L)], hourly.Select(r => (r.Key, r.Values[0])));

        var window = Assert.Single(await _store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.None, ["count_clicked"], Start.AddMinutes(5), Start.AddMinutes(70)), default));
        Assert.Equal([2L], window.Values);
    }

    [Fact]
    public async Task The_pipeline_writes_what_producers_publish_into_the_store()
    {
        var pipeline = new EventPipeline(_store, EventPipeline.JournalDirectory(_dataDir), NullLogger<EventPipeline>.Instance);
        for (var i = 0; i < 2500; i++)
        {
            await pipeline.PublishAsync(Event(EventType.Delivery, i % 60, message: $"m{i}"));
        }

        Assert.True(pipeline.TryPublish(Event(EventType.Open, 0)));
        await pipeline.DisposeAsync();
        var stored = await _store.ReadAfterAsync(0, 10_000, null, default);
        Assert.Equal(2501, stored.Count);
        Assert.Equal("m0", stored[0].MessageId);
        Assert.Equal(EventType.Open, stored[^1].Type);
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }
}
