using System.Text.Json;
using Beacon.Api;
using Beacon.Delivery;
using Beacon.Events;
using Beacon.Queue;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Beacon.Dashboard;

/// <summary>
/// The web dashboard on the API listener: the page at / (assets under /dashboard/), and the JSON endpoints only
/// it needs: the live event stream, the captured copies, the queues and a little about this node. The page
/// itself reads the existing Metrics, Message Events and webhook status APIs. Everything sits behind the API's
/// key check (<see cref="ApiRoutes"/>): with api.keys set, the page and every endpoint need a key (a browser asks
/// for it through the 401's Basic challenge: the key as user name); with none, Beacon starts only on a loopback
/// api.listen, so an unauthenticated dashboard is never reachable from another machine (docs/dashboard.md).
/// </summary>
public sealed class DashboardEndpoints(DeliveryQueue queue, CaptureStore capture, string deliveryMode, string nodeName)
{
    public const string QueuesPath = "/api/v1/queues";
    public const string InfoPath = "/api/v1/dashboard/info";

    private readonly DashboardAssets _assets = new();

    public void Map(WebApplication app, IEventStore store, TimeProvider time, ILogger logger)
    {
        app.MapGet("/", context => ServeAsync(context, "index.html"));
        app.MapGet("/dashboard/{file}", context => ServeAsync(context, context.Request.RouteValues["file"] as string ?? string.Empty));
        var stream = new EventStream(store, time, app.Lifetime.ApplicationStopping, logger);
        app.MapGet(EventStream.Path, stream.HandleAsync);
        new CapturedMailApi(capture).Map(app);
        app.MapGet(QueuesPath, () => Results.Json(new { results = Queues(queue.Snapshot()) }, Json));
        app.MapGet(InfoPath, () => Results.Json(new { results = new { node_name = nodeName, delivery_mode = deliveryMode, max_streams = EventStream.MaxStreams } }, Json));
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static object Queues(QueueSnapshot snapshot) => new
    {
        messages = snapshot.Messages,
        deferred = snapshot.Deferred,
        destinations = snapshot.Destinations.Select(d => new
        {
            destination = d.Destination,
            kind = d.Kind.ToString().ToLowerInvariant(),
            messages = d.Messages,
            ready = d.Ready,
            deferred = d.Deferred,
            workers = d.Workers,
            max_connections = d.MaxConnections,
        }),
    };

    private async Task ServeAsync(HttpContext context, string name)
    {
        if (!await _assets.TryServeAsync(context, name).ConfigureAwait(false))
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status404NotFound, "Resource could not be found", $"no dashboard file '{name}'", ApiErrors.NotFound).ConfigureAwait(false);
        }
    }
}
