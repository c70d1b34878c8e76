using System.Text.Json.Serialization;

namespace Beacon.Webhooks;

/// <summary>
/// What GET /api/v1/webhooks/status shows for one webhook on this node. An immutable snapshot: the dispatcher
/// replaces it after each step, readers never see a half-updated one.
/// </summary>
public sealed record WebhookStatus
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("target")]
    public required string Target { get; init; }

    /// <summary>This node holds the webhook's lease and sends its batches (in a fleet, exactly one node does).</summary>
    [JsonPropertyName("sending")]
    public bool Sending { get; init; }

    [JsonPropertyName("last_success")]
    public DateTimeOffset? LastSuccess { get; init; }

    [JsonPropertyName("consecutive_failures")]
    public int ConsecutiveFailures { get; init; }

    [JsonPropertyName("last_error")]
    public string? LastError { get; init; }

    [JsonPropertyName("last_error_at")]
    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>The webhook's cursor: every event up to it was delivered or dropped.</summary>
    [JsonPropertyName("cursor")]
    public long Cursor { get; init; }

    /// <summary>Newest sequence this dispatcher has read from the store.</summary>
    [JsonPropertyName("newest_sequence")]
    public long NewestSequence { get; init; }

    /// <summary>Newest sequence − cursor: how far behind the endpoint is; high and growing means it is failing or slow.</summary>
    [JsonPropertyName("lag")]
    public long Lag => Math.Max(0, NewestSequence - Cursor);

    /// <summary>Failed attempts to send a batch, over the process's life.</summary>
    [JsonPropertyName("failed_attempts")]
    public long FailedAttempts { get; init; }

    [JsonPropertyName("batches_sent")]
    public long BatchesSent { get; init; }

    [JsonPropertyName("events_sent")]
    public long EventsSent { get; init; }

    /// <summary>Batches given up after failing for retry_for (4 hours): their events never reached the endpoint.</summary>
    [JsonPropertyName("dropped_batches")]
    public long DroppedBatches { get; init; }

    [JsonPropertyName("dropped_events")]
    public long DroppedEvents { get; init; }

    [JsonPropertyName("last_dropped_batch_id")]
    public Guid? LastDroppedBatchId { get; init; }

    /// <summary>The batch being retried, if any, and when it is tried next.</summary>
    [JsonPropertyName("retrying_batch_id")]
    public Guid? RetryingBatchId { get; init; }

    [JsonPropertyName("next_attempt")]
    public DateTimeOffset? NextAttempt { get; init; }
}
