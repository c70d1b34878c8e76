using Beacon.Events;

namespace Beacon.Tests.Webhooks;

/// <summary>An IEventStore in a list, with leases on the given clock: enough for the dispatchers' logic.</summary>
internal sealed class InMemoryEventStore(TimeProvider time) : IEventStore
{
    private readonly Lock _lock = new();
    private readonly List<StoredEvent> _events = [];
    private readonly Dictionary<string, long> _cursors = [];
    private readonly Dictionary<string, (string Owner, DateTimeOffset Expires)> _leases = [];

    public int CursorWrites { get; private set; }

    public Task AppendAsync(IReadOnlyList<EventRecord> events, StoreCursor? cursor, CancellationToken cancellation)
    {
        lock (_lock)
        {
            foreach (var item in events)
            {
                _events.Add(new StoredEvent(_events.Count + 1, item.Type, item.Timestamp, item.MessageId, item.TransmissionId,
                    item.CampaignId, item.Recipient, item.Json));
            }

            if (cursor is not null)
            {
                _cursors[cursor.Name] = cursor.Position;
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StoredEvent>> ReadAfterAsync(long afterSequence, int limit, IReadOnlySet<EventType>? types, CancellationToken cancellation)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<StoredEvent>>(
                [.. _events.Where(e => e.Sequence > afterSequence && (types is null || types.Contains(e.Type))).Take(limit)]);
        }
    }

    public Task<long> LatestSequenceAsync(CancellationToken cancellation)
    {
        lock (_lock)
        {
            return Task.FromResult((long)_events.Count);
        }
    }

    public Task<EventPage> SearchAsync(EventQuery query, CancellationToken cancellation)
    {
        lock (_lock)
        {
            var matching = _events.Where(e => (query.Types is null || query.Types.Contains(e.Type))
                && (query.From is null || e.Timestamp >= query.From) && (query.To is null || e.Timestamp <= query.To)).Reverse().ToList();
            var page = matching.Where(e => query.BeforeSequence is null || e.Sequence < query.BeforeSequence).Take(query.PerPage + 1).ToList();
            return Task.FromResult(page.Count > query.PerPage
                ? new EventPage(page.Take(query.PerPage).ToList(), page[query.PerPage - 1].Sequence, matching.Count)
                : new EventPage(page, null, matching.Count));
        }
    }

    public Task<long> PurgeAsync(DateTimeOffset before, CancellationToken cancellation) => throw new NotSupportedException();

    public Task<long> GetCursorAsync(string name, CancellationToken cancellation)
    {
        lock (_lock)
        {
            return Task.FromResult(_cursors.GetValueOrDefault(name));
        }
    }

    public Task SetCursorAsync(string name, long sequence, CancellationToken cancellation)
    {
        lock (_lock)
        {
            _cursors[name] = sequence;
            CursorWrites++;
        }

        return Task.CompletedTask;
    }

    public Task<bool> TryLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellation)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (_leases.TryGetValue(name, out var lease) && lease.Owner != owner && lease.Expires >= now)
            {
                return Task.FromResult(false);
            }

            _leases[name] = (owner, now + duration);
            return Task.FromResult(true);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
