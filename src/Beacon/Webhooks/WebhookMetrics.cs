using System.Diagnostics.Metrics;

namespace Beacon.Webhooks;

/// <summary>
/// The webhook dispatchers' instruments, on meter "Beacon.Webhooks" (exported at GET /metrics, docs/metrics.md),
/// read from each dispatcher's status snapshot at each scrape; labelled by webhook name (configured, bounded).
/// In a fleet only the node holding a webhook's lease sends it: sum the counters over nodes.
/// </summary>
public sealed class WebhookMetrics : IDisposable
{
    public const string MeterName = "Beacon.Webhooks";

    private int _observing;

    public Meter Meter { get; } = new(MeterName);

    /// <summary>Adds the instruments over the service's dispatchers (once).</summary>
    public void Observe(WebhookService service)
    {
        if (Interlocked.Exchange(ref _observing, 1) == 1)
        {
            return;
        }

        Meter.CreateObservableGauge("beacon.webhooks.lag", () => Each(service, s => s.Lag), "{event}",
            "Events stored and not yet delivered to the webhook (newest sequence read − cursor). High and growing means the endpoint is failing or slower than the event rate.");
        Meter.CreateObservableGauge("beacon.webhooks.sending", () => Each(service, s => s.Sending ? 1 : 0), "{node}",
            "1 when this node holds the webhook's lease and sends its batches, else 0. In a fleet exactly one node should report 1; 0 everywhere means nobody sends.");
        Meter.CreateObservableGauge("beacon.webhooks.consecutive_failures", () => Each(service, s => s.ConsecutiveFailures), "{attempt}",
            "Failed attempts since the webhook's last success. Above 0 means the endpoint is failing now; batches are retried with backoff, then dropped after retry_for.");
        Meter.CreateObservableCounter("beacon.webhooks.batches.sent", () => Each(service, s => s.BatchesSent), "{batch}",
            "Batches the endpoint accepted (2xx). A flat line while events are stored means nothing is being delivered.");
        Meter.CreateObservableCounter("beacon.webhooks.events.sent", () => Each(service, s => s.EventsSent), "{event}",
            "Events in the batches the endpoint accepted.");
        Meter.CreateObservableCounter("beacon.webhooks.batches.failed", () => Each(service, s => s.FailedAttempts), "{attempt}",
            "Failed attempts to send a batch (non-2xx, timeout, connection error). A high rate means the endpoint is down or rejecting Beacon's requests.");
        Meter.CreateObservableCounter("beacon.webhooks.batches.dropped", () => Each(service, s => s.DroppedBatches), "{batch}",
            "Batches given up after failing for retry_for: their events never reached the endpoint. Any value above 0 means lost deliveries (replay them with `beacon webhooks replay`).");
        Meter.CreateObservableCounter("beacon.webhooks.events.dropped", () => Each(service, s => s.DroppedEvents), "{event}",
            "Events in dropped batches. Any value above 0 means the endpoint missed events.");
    }

    public void Dispose() => Meter.Dispose();

    private static IEnumerable<Measurement<long>> Each(WebhookService service, Func<WebhookStatus, long> value) =>
        service.Status.Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("webhook", s.Name)));
}
