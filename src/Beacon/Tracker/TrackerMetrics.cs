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
    }

    public Meter Meter { get; } = new(MeterName);

    public Counter<long> Requests { get; }

    public Counter<long> EventsDropped { get; }

    public Counter<long> RateLimited { get; }

    public void Dispose() => Meter.Dispose();
}
