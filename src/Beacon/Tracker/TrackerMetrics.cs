using System.Diagnostics.Metrics;

namespace Beacon.Tracker;

/// <summary>The tracker's counters, on meter "Beacon.Tracker" (exported at GET /metrics, docs/metrics.md; dotnet-counters reads it too).</summary>
public sealed class TrackerMetrics : IDisposable
{
    public const string MeterName = "Beacon.Tracker";

    public TrackerMetrics()
    {
        Requests = Meter.CreateCounter<long>("beacon.tracker.requests", "{request}",
            "Tracked-link requests answered, by route and outcome (recorded, expired, invalid, rate_limited, head). A high share of 'invalid' means forged or mangled links are being tried.");
        EventsDropped = Meter.CreateCounter<long>("beacon.tracker.events_dropped", "{event}",
            "Engagement events not recorded because the event pipeline was full. Any value above 0 means the event writer cannot keep up with the tracker: opens and clicks are being lost.");
        RateLimited = Meter.CreateCounter<long>("beacon.tracker.rate_limited", "{request}",
            "Requests answered but not recorded because their client address exceeded rate_limit_per_minute. A high value means a scanner, a crawler or an attack is fetching links in bulk, or that many people share one address (raise the limit).");
        ConnectionsRefused = Meter.CreateCounter<long>("beacon.tracker.connections_refused", "{connection}",
            "Connections closed at once because engagement_tracker.max_connections were open. Above 0: a flood of clients (or of idle keep-alive connections) holds every slot; raise the limit or look for the source.");
        RequestsRejected = Meter.CreateCounter<long>("beacon.tracker.requests_rejected", "{request}",
            "Requests refused by the HTTP layer before the tracker saw them, by status (400 malformed, 408 headers too slow, 414 request line too long, 431 headers too large, 505 HTTP version); the connection is closed. A high value means scanners or broken clients; a rise in 408 can be a slowloris attack.");
    }

    public Meter Meter { get; } = new(MeterName);

    public Counter<long> Requests { get; }

    public Counter<long> EventsDropped { get; }

    public Counter<long> RateLimited { get; }

    public Counter<long> ConnectionsRefused { get; }

    public Counter<long> RequestsRejected { get; }

    public void Dispose() => Meter.Dispose();
}
