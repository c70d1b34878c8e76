using Beacon.Spool;

namespace Beacon.Queue;

/// <summary>
/// A spooled message while it has unfinished recipients. Its recipient list is changed only under
/// <see cref="Gate"/>, by the completion of a <see cref="WorkItem"/>, and written back to the spool there.
/// </summary>
internal sealed class QueuedMessage(SpooledMessage message)
{
    public SpooledMessage Message { get; } = message;

    public object Gate { get; } = new();

    /// <summary>Work items posted or scheduled and not yet completed; the message leaves the spool at zero.</summary>
    public int Outstanding { get; set; }

    /// <summary>`beacon queue bounce`: recipients that fail temporarily from now on bounce instead.</summary>
    public bool BounceRequested { get; set; }

    /// <summary>Items waiting for their retry time (guarded by the queue's timer lock).</summary>
    public HashSet<WorkItem> Scheduled { get; } = [];
}

/// <summary>Some recipients of one message for one destination, due at a time.</summary>
public sealed class WorkItem
{
    internal WorkItem(QueuedMessage entry, Route route, int[] recipients, DateTimeOffset due)
    {
        Entry = entry;
        Route = route;
        Recipients = recipients;
        Due = due;
    }

    internal QueuedMessage Entry { get; }

    public SpooledMessage Message => Entry.Message;

    public Route Route { get; }

    /// <summary>Indexes into <see cref="SpooledMessage.Recipients"/>.</summary>
    public int[] Recipients { get; }

    public DateTimeOffset Due { get; }

    /// <summary>Replaced by `beacon queue retry|bounce` while it waited; the timer drops it.</summary>
    internal bool Cancelled { get; set; }
}
