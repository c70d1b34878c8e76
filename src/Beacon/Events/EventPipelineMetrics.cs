using System.Diagnostics.Metrics;

namespace Beacon.Events;

/// <summary>The event writer's instruments, on meter "Beacon.Events" (exported at GET /metrics, docs/metrics.md).</summary>
public sealed class EventPipelineMetrics : IDisposable
{
    public const string MeterName = "Beacon.Events";

    private int _observing;

    public EventPipelineMetrics()
    {
        Written = Meter.CreateCounter<long>("beacon.events.written", "{event}",
            "Events committed to the event store, per event type. The rate of everything that happens; compare with injections to see engagement.");
        StoreErrors = Meter.CreateCounter<long>("beacon.events.store_errors", "{error}",
            "Failed attempts to append a batch of events to the store (each is logged and retried). Any value above 0 means the store (disk, SQLite lock, PostgreSQL) had trouble; growing means events are piling up in memory.");
    }

    public Meter Meter { get; } = new(MeterName);

    internal Counter<long> Written { get; }

    internal Counter<long> StoreErrors { get; }

    /// <summary>Adds the gauges that read the pipeline at each scrape (once).</summary>
    public void Observe(EventPipeline pipeline, TimeProvider time)
    {
        if (Interlocked.Exchange(ref _observing, 1) == 1)
        {
            return;
        }

        Meter.CreateObservableGauge("beacon.events.waiting", () => (long)pipeline.Waiting, "{event}",
            "Events published and not yet committed to the store (the writer's lag; at most 100,000 wait, then producers wait and the tracker drops). High means the store is slow or failing.");
        Meter.CreateObservableGauge("beacon.events.oldest_waiting_age", () => pipeline.OldestWaiting is { } oldest ? Math.Max(0, (time.GetUtcNow() - oldest).TotalSeconds) : 0, "s",
            "Age of the oldest event not yet committed to the store (0 when none waits). High means events reach the APIs, the dashboard and webhooks late.");
    }

    public void Dispose() => Meter.Dispose();
}
