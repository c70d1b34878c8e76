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
            "Events committed to the event store (indexed from the journal), per event type. The rate of everything that happens; compare with injections to see engagement.");
        Errors = Meter.CreateCounter<long>("beacon.events.errors", "{error}",
            "Failed attempts to write a batch of events, per stage: journal (the fsynced file producers hand events to) or store (SQLite, PostgreSQL); each is logged and retried. Any value above 0 means disk, lock or database trouble; growing means events pile up in memory (journal) or in the journal (store).");
    }

    public Meter Meter { get; } = new(MeterName);

    internal Counter<long> Written { get; }

    internal Counter<long> Errors { get; }

    /// <summary>Adds the gauges that read the pipeline at each scrape (once).</summary>
    public void Observe(EventPipeline pipeline, TimeProvider time)
    {
        if (Interlocked.Exchange(ref _observing, 1) == 1)
        {
            return;
        }

        Meter.CreateObservableGauge("beacon.events.waiting", () => (long)pipeline.Waiting, "{event}",
            "Events published and not yet journaled (in memory; at 100,000 producers wait and the tracker drops). High means the journal's disk is slow or failing.");
        Meter.CreateObservableGauge("beacon.events.oldest_waiting_age", () => pipeline.OldestWaiting is { } oldest ? Math.Max(0, (time.GetUtcNow() - oldest).TotalSeconds) : 0, "s",
            "Age of the oldest event not yet journaled (0 when none waits). High means the journal writer is stuck behind its disk.");
        Meter.CreateObservableGauge("beacon.events.store_backlog", () => pipeline.Backlog, "By",
            "Bytes of events journaled and not yet in the store: the store's lag (the indexer runs at low priority, so it grows during a burst and falls after). High and growing means the store cannot keep up; the APIs, the dashboard and webhooks see events late.");
    }

    internal void Stored(List<EventRecord> batch)
    {
        foreach (var group in batch.GroupBy(e => e.Type))
        {
            Written.Add(group.Count(), new KeyValuePair<string, object?>("type", group.Key.Name()));
        }
    }

    public void Dispose() => Meter.Dispose();
}
