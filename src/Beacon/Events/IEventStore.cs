namespace Beacon.Events;

/// <summary>
/// Where events are persisted before anything reads them (ARCHITECTURE §5.9): SQLite in the data dir by default,
/// PostgreSQL for fleets. Every event gets a store-wide sequence number, increasing in commit order; readers
/// (API, metrics, webhooks, `beacon events tail`, the dashboard) go by sequence through their own cursors.
/// </summary>
public interface IEventStore : IAsyncDisposable
{
    /// <summary>
    /// Persists events in the given order; returns once they are committed. <paramref name="cursor"/>, when given,
    /// is set in the same transaction: the pipeline records how far into its journal the store has got, so that a
    /// crash between the two can neither lose nor repeat an event.
    /// </summary>
    Task AppendAsync(IReadOnlyList<EventRecord> events, StoreCursor? cursor, CancellationToken cancellation);

    /// <summary>Events after <paramref name="afterSequence"/> in sequence order, at most <paramref name="limit"/>,
    /// optionally only of some types.</summary>
    Task<IReadOnlyList<StoredEvent>> ReadAfterAsync(long afterSequence, int limit, IReadOnlySet<EventType>? types, CancellationToken cancellation);

    /// <summary>The sequence of the newest stored event, 0 when none: where a live tail starts.</summary>
    Task<long> LatestSequenceAsync(CancellationToken cancellation);

    /// <summary>The Message Events API's search, newest first, with a cursor for the next page.</summary>
    Task<EventPage> SearchAsync(EventQuery query, CancellationToken cancellation);

    /// <summary>Removes events older than <paramref name="before"/>; returns how many.</summary>
    Task<long> PurgeAsync(DateTimeOffset before, CancellationToken cancellation);

    /// <summary>A named cursor (a webhook's position), 0 when never set.</summary>
    Task<long> GetCursorAsync(string name, CancellationToken cancellation);

    Task SetCursorAsync(string name, long sequence, CancellationToken cancellation);

    /// <summary>Takes or renews a named lease for <paramref name="owner"/> until now + <paramref name="duration"/>;
    /// false while another owner holds an unexpired one (one node sends a webhook's batches).</summary>
    Task<bool> TryLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellation);
}

/// <summary>A named cursor and the value to set it to (see <see cref="IEventStore.AppendAsync"/>).</summary>
public sealed record StoreCursor(string Name, long Position);

public static class EventStoreExtensions
{
    /// <summary>Appends events straight to the store, without the pipeline's journal (tools and tests).</summary>
    public static Task AppendAsync(this IEventStore store, IReadOnlyList<BeaconEvent> events, CancellationToken cancellation) =>
        store.AppendAsync([.. events.Select(e => e.ToRecord())], null, cancellation);
}

/// <summary>One stored event: its sequence, the fields queries filter on, and the Momentum JSON as produced.</summary>
public sealed record StoredEvent(long Sequence, EventType Type, DateTimeOffset Timestamp, string? MessageId, string? TransmissionId,
    string? CampaignId, string? Recipient, string Json);

/// <summary>Filters of GET /api/v1/events/message (SparkPost's names); null or empty means any.</summary>
public sealed record EventQuery
{
    public IReadOnlySet<EventType>? Types { get; init; }

    public IReadOnlyList<string>? Campaigns { get; init; }

    public IReadOnlyList<string>? MessageIds { get; init; }

    public IReadOnlyList<string>? TransmissionIds { get; init; }

    public IReadOnlyList<string>? Recipients { get; init; }

    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    public int PerPage { get; init; } = 1000;

    /// <summary>From the previous page: only events with a smaller sequence.</summary>
    public long? BeforeSequence { get; init; }
}

/// <summary>A page of results, newest first; <see cref="NextBeforeSequence"/> is null on the last page.</summary>
public sealed record EventPage(IReadOnlyList<StoredEvent> Events, long? NextBeforeSequence, long TotalCount);
