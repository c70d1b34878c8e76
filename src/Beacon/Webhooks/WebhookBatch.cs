using System.Text;
using Beacon.Events;

namespace Beacon.Webhooks;

/// <summary>
/// Events sent in one POST. <see cref="Through"/> is the sequence the webhook's cursor moves to once the batch is
/// delivered or dropped: the last event read, which may be past the last event sent when the events after it are
/// of types this webhook doesn't want. Retries send the same body under the same <see cref="Id"/>.
/// </summary>
public sealed class WebhookBatch(Guid id, IReadOnlyList<StoredEvent> events, long through, DateTimeOffset firstAttempt)
{
    public Guid Id { get; } = id;

    public IReadOnlyList<StoredEvent> Events { get; } = events;

    public long Through { get; } = through;

    public DateTimeOffset FirstAttempt { get; } = firstAttempt;

    public int Attempts { get; set; }

    public DateTimeOffset NextAttempt { get; set; } = firstAttempt;

    /// <summary>The JSON array of msys envelopes, exactly as stored.</summary>
    public byte[] Body { get; } = Encoding.UTF8.GetBytes("[" + string.Join(",", events.Select(e => e.Json)) + "]");
}
