using System.Globalization;
using System.Net;
using Beacon.Dashboard;
using Beacon.Events;

namespace Beacon.EndToEnd.Tests.Dashboard;

/// <summary>
/// GET /api/v1/events/stream over real connections: mail in over SMTP, delivered in capture mode, its tracked
/// links followed over HTTP, and the stream read as EventSource reads it. No timing: events reach the store in
/// sequence order, so "the first frame a filtered stream sends is X" proves that nothing before X passed the filter.
/// </summary>
public sealed class EventStreamTests
{
    [Fact]
    public async Task Events_published_after_connect_arrive_in_order_and_filters_hold()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Delivery.Suspended = false);
        var early = await DashboardTraffic.SendAsync(beacon, "early", "old@example.com");
        await beacon.WaitForEventsAsync("delivery");

        // Opened after the early message's events are stored: without Last-Event-ID or backlog they are not sent.
        await using var everything = await SseClient.OpenAsync(beacon, string.Empty);
        await using var alphaClicks = await SseClient.OpenAsync(beacon, "?events=click&campaigns=alpha");
        await using var two = await SseClient.OpenAsync(beacon, "?recipients=TWO@Example.net&events=injection,click");

        var beta = await DashboardTraffic.SendAsync(beacon, "beta", "one@example.com");
        var alpha = await DashboardTraffic.SendAsync(beacon, "alpha", "one@example.com", "two@example.net");
        await beacon.WaitForEventsAsync("delivery", 4);
        await DashboardTraffic.ClickAsync(beacon, beta, "one@example.com");   // a click, but campaign beta
        await DashboardTraffic.ClickAsync(beacon, early, "old@example.com");  // a click, but campaign early
        await DashboardTraffic.ClickAsync(beacon, alpha, "two@example.net");

        // The unfiltered stream: the new events, in store order, starting with beta's injection.
        var first = await everything.ReadEventAsync();
        Assert.Equal(("injection", beta), ((string?)first.Event["type"], (string?)first.Event["message_id"]));
        var ids = new List<long> { first.Id };
        for (var i = 0; i < 8; i++)
        {
            ids.Add((await everything.ReadEventAsync()).Id); // 3 injections, 3 deliveries, 3 clicks in all
        }

        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());

        // Only alpha's clicks: beta's and early's came first and were skipped, and so was every injection and delivery.
        var click = await alphaClicks.ReadEventAsync();
        Assert.Equal(("click", "alpha", "two@example.net"), ((string?)click.Event["type"], (string?)click.Event["campaign_id"], (string?)click.Event["rcpt_to"]));
        Assert.Equal(ids[^1], click.Id);

        // Only two@ (matched case-insensitively), only injections and clicks: its injection, then its click.
        var injection = await two.ReadEventAsync();
        Assert.Equal(("injection", "two@example.net", alpha), ((string?)injection.Event["type"], (string?)injection.Event["rcpt_to"], (string?)injection.Event["message_id"]));
        Assert.Equal(click.Id, (await two.ReadEventAsync()).Id);

        // Stopping Beacon ends open streams (they would otherwise hold the shutdown for its whole timeout).
        await beacon.Server.StopAsync();
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await everything.ReadEventAsync());
    }

    [Fact]
    public async Task Last_Event_ID_and_backlog_replay_from_the_store()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => o.Delivery.Suspended = false);
        await DashboardTraffic.SendAsync(beacon, "replay", "a@example.com", "b@example.com", "c@example.com");
        await beacon.WaitForEventsAsync("delivery", 3);
        var stored = await beacon.Server.EventStore.ReadAfterAsync(0, 100, null, CancellationToken.None);
        Assert.Equal(6, stored.Count);

        // A reconnecting EventSource sends the last id it saw: the stream goes on right after it.
        await using (var resumed = await SseClient.OpenAsync(beacon, string.Empty, lastEventId: stored[1].Sequence.ToString(CultureInfo.InvariantCulture)))
        {
            foreach (var expected in stored.Skip(2))
            {
                var (id, item) = await resumed.ReadEventAsync();
                Assert.Equal(expected.Sequence, id);
                Assert.Equal(expected.Type.Name(), (string?)item["type"]);
            }
        }

        // backlog=2 with a filter: the two newest matching events first, oldest of them first.
        var deliveries = stored.Where(e => e.Type == EventType.Delivery).ToList();
        await using (var backlog = await SseClient.OpenAsync(beacon, "?events=delivery&backlog=2"))
        {
            Assert.Equal(deliveries[^2].Sequence, (await backlog.ReadEventAsync()).Id);
            Assert.Equal(deliveries[^1].Sequence, (await backlog.ReadEventAsync()).Id);
        }

        // "after" is the same for clients that cannot set headers.
        await using var after = await SseClient.OpenAsync(beacon, $"?after={stored[4].Sequence}");
        Assert.Equal(stored[5].Sequence, (await after.ReadEventAsync()).Id);
    }

    [Fact]
    public async Task Bad_filters_are_400_and_streams_beyond_the_cap_are_503()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        using var api = DashboardTraffic.Api(beacon);
        await DashboardTraffic.AssertErrorAsync(api, "/api/v1/events/stream?events=clicks", HttpStatusCode.BadRequest, "1200");
        await DashboardTraffic.AssertErrorAsync(api, "/api/v1/events/stream?after=-1", HttpStatusCode.BadRequest, "1200");
        await DashboardTraffic.AssertErrorAsync(api, "/api/v1/events/stream?backlog=1001", HttpStatusCode.BadRequest, "1200");
        await using (var garbage = await SseClient.OpenAsync(beacon, string.Empty, lastEventId: "abc"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, garbage.Response.StatusCode);
        }

        var open = new List<SseClient>();
        try
        {
            for (var i = 0; i < EventStream.MaxStreams; i++)
            {
                open.Add(await SseClient.OpenAsync(beacon, string.Empty));
            }

            Assert.All(open, s => Assert.Equal(HttpStatusCode.OK, s.Response.StatusCode));
            await using var refused = await SseClient.OpenAsync(beacon, string.Empty);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Response.StatusCode);
            Assert.Equal("10", refused.Response.Headers.RetryAfter!.ToString());
        }
        finally
        {
            foreach (var stream in open)
            {
                await stream.DisposeAsync();
            }
        }

        // Closed streams give their places back once the server sees the connections end.
        await BeaconInstance.WaitUntilAsync(async () =>
        {
            await using var again = await SseClient.OpenAsync(beacon, string.Empty);
            return again.Response.StatusCode == HttpStatusCode.OK;
        }, "a stream to be accepted again after the others closed");
    }
}
