using System.Diagnostics.Metrics;
using System.Globalization;
using Beacon.Spool;

namespace Beacon.Queue;

/// <summary>
/// Outcomes of delivery attempts and the queue's size, on meter "Beacon.Delivery" (exported at GET /metrics,
/// docs/metrics.md). Outcomes are counted per recipient, like the delivery, delay and bounce events. Queue gauges
/// are labelled by destination (the route key: recipient domain, smarthost or "capture"), which the queue's
/// contents bound; a destination with nothing ready, nothing waiting and no connection is left out of the scrape.
/// </summary>
public sealed class DeliveryMetrics : IDisposable
{
    public const string MeterName = "Beacon.Delivery";

    private readonly Counter<long> _delivered;
    private readonly Counter<long> _delayed;
    private readonly Counter<long> _bounced;
    private int _observing;

    public DeliveryMetrics()
    {
        _delivered = Meter.CreateCounter<long>("beacon.delivery.delivered", "{recipient}",
            "Recipients delivered (the next hop answered 2xx, or capture kept the copy), per delivery method. This is the outbound rate; a drop while injection goes on means the queue is growing.");
        _delayed = Meter.CreateCounter<long>("beacon.delivery.delayed", "{attempt}",
            "Delivery attempts that failed temporarily (delay events: 4xx, no connection, DNS trouble), per delivery method. High means destinations refuse or are unreachable and recipients wait for retries.");
        _bounced = Meter.CreateCounter<long>("beacon.delivery.bounced", "{recipient}",
            "Recipients that bounced (permanent failure, expiry in the queue or an operator's bounce), per delivery method, SparkPost bounce_class and category (hard, soft, block, admin, undetermined). High hard bounces mean bad lists; high block bounces mean reputation trouble.");
    }

    public Meter Meter { get; } = new(MeterName);

    /// <summary>Adds the gauges that read the queue and the spool at each scrape (once; later calls do nothing).</summary>
    public void Observe(DeliveryQueue queue, SpoolStore spool)
    {
        if (Interlocked.Exchange(ref _observing, 1) == 1)
        {
            return;
        }

        Meter.CreateObservableGauge("beacon.queue.ready", () => Busy(queue).Select(d => Measure(d.Ready, d.Destination)), "{item}",
            "Work items (some recipients of one message) ready for delivery and not yet taken by a connection, per destination. High and growing means the destination's connections (max_connections) cannot keep up.");
        Meter.CreateObservableGauge("beacon.queue.retrying", () => Busy(queue).Select(d => Measure(d.Deferred, d.Destination)), "{item}",
            "Work items waiting for their retry time after a temporary failure, per destination. High means that destination is deferring or unreachable.");
        Meter.CreateObservableGauge("beacon.queue.workers", () => Busy(queue).Select(d => Measure(d.Workers, d.Destination)), "{connection}",
            "Delivery connections (workers) running, per destination. Constantly at the destination's max_connections means it is the bottleneck.");
        Meter.CreateObservableGauge("beacon.queue.messages", () => (long)queue.Messages, "{message}",
            "Messages the delivery queue holds (with at least one unfinished recipient). High and growing means delivery is slower than injection or destinations defer.");
        Meter.CreateObservableGauge("beacon.queue.oldest_age", () => queue.OldestAge().TotalSeconds, "s",
            "Age of the oldest message in the delivery queue (0 when empty). High means some recipients have been retried for a long time and approach delivery.retry.max_age.");
        Meter.CreateObservableGauge("beacon.spool.messages", () => (long)spool.Count(), "{message}",
            "Messages in the spool (data_dir/spool/log), whatever their state, including while delivery is suspended. High and growing means the disk fills with undelivered mail.");
        Meter.CreateObservableGauge("beacon.spool.log_size", spool.LogSize, "By",
            "Octets of the spool's log segments on disk. Far above what the waiting messages need means segments held by a few long-deferred messages, until compaction copies those forward.");
    }

    internal void Record(RecipientOutcome outcome)
    {
        var method = new KeyValuePair<string, object?>("method", outcome.DeliveryMethod);
        switch (outcome.Outcome)
        {
            case DeliveryOutcome.Delivered:
                _delivered.Add(1, method);
                break;
            case DeliveryOutcome.Deferred:
                _delayed.Add(1, method);
                break;
            default:
                var bounceClass = outcome.BounceClass ?? 1;
                _bounced.Add(1, method, new("bounce_class", bounceClass.ToString(CultureInfo.InvariantCulture)), new("category", Category(bounceClass)));
                break;
        }
    }

    public void Dispose() => Meter.Dispose();

    /// <summary>SparkPost's categories of bounce classes (see Delivery/BounceClass).</summary>
    internal static string Category(int bounceClass) => bounceClass switch
    {
        10 or 30 or 90 => "hard",
        25 => "admin",
        >= 50 and <= 54 => "block",
        >= 20 and <= 24 or 40 or 60 or 70 or 100 => "soft",
        _ => "undetermined",
    };

    /// <summary>The destinations with anything ready, deferred or running (the dashboard's snapshot, idle ones left out).</summary>
    private static IEnumerable<DestinationSnapshot> Busy(DeliveryQueue queue) =>
        queue.Snapshot().Destinations.Where(d => d.Ready > 0 || d.Deferred > 0 || d.Workers > 0);

    private static Measurement<long> Measure(long value, string destination) => new(value, new KeyValuePair<string, object?>("destination", destination));
}
