namespace Beacon.Tracker;

/// <summary>
/// Per-recipient engagement state, bounded: at most <c>capacity</c> entries (about 300 bytes each), the least
/// recently used forgotten first. It lives in this process only: each tracker node keeps its own, and a restart
/// forgets it, so a first_human may be reported again after a restart or by another node (docs/events.md).
/// Design note: one lock guards the map and the recency list; the work under it is a lookup and a list move.
/// </summary>
public sealed class RecipientStateStore(int capacity)
{
    private readonly Dictionary<(string MessageId, string Recipient), LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _recency = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The state of one copy, created empty if unknown (or forgotten). <paramref name="recipient"/> is lower-cased by the caller.</summary>
    public RecipientState Get(string messageId, string recipient)
    {
        var key = (messageId, recipient);
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                return node.Value.State;
            }

            if (_entries.Count >= capacity)
            {
                var last = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(last.Value.Key);
            }

            var entry = new Entry(key, new RecipientState());
            _entries[key] = _recency.AddFirst(entry);
            return entry.State;
        }
    }

    private sealed record Entry((string MessageId, string Recipient) Key, RecipientState State);
}
