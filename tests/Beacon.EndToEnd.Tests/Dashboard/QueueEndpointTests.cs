using System.Text.Json.Nodes;

namespace Beacon.EndToEnd.Tests.Dashboard;

/// <summary>GET /api/v1/queues: the in-process delivery queue, per destination.</summary>
public sealed class QueueEndpointTests
{
    [Fact]
    public async Task Messages_waiting_for_a_retry_are_counted_per_destination()
    {
        // A smarthost port nobody listens on: every attempt fails to connect and the recipients wait for a retry.
        var port = BeaconProcess.FreePort();
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            o.Delivery.Suspended = false;
            o.Delivery.Mode = "smarthost";
            o.Delivery.Smarthost = $"127.0.0.1:{port}";
        });
        using var api = DashboardTraffic.Api(beacon);
        var empty = (await DashboardTraffic.GetJsonAsync(api, "/api/v1/queues"))["results"]!;
        Assert.Equal(0, (int)empty["messages"]!);
        Assert.Empty(empty["destinations"]!.AsArray());

        await DashboardTraffic.SendAsync(beacon, "queued", "one@example.com", "two@example.net");
        await DashboardTraffic.SendAsync(beacon, "queued", "three@example.com");
        await beacon.WaitForEventsAsync("delay", 3);

        JsonNode results = null!;
        // The delay events are published after the retries are scheduled; the queue is read until it agrees.
        await BeaconInstance.WaitUntilAsync(async () =>
        {
            results = (await DashboardTraffic.GetJsonAsync(api, "/api/v1/queues"))["results"]!;
            return (int)results["deferred"]! == 3;
        }, "every recipient to wait for its retry");
        Assert.Equal(2, (int)results["messages"]!);
        var destination = Assert.Single(results["destinations"]!.AsArray())!;
        Assert.Equal("smarthost", (string?)destination["kind"]);
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)destination["destination"], StringComparison.Ordinal);
        // One work item per message and recipient domain: three, of two messages, on one smarthost queue.
        Assert.Equal((2, 0, 3), ((int)destination["messages"]!, (int)destination["ready"]!, (int)destination["deferred"]!));
        Assert.True((int)destination["max_connections"]! > 0);
    }
}
