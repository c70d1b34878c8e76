namespace Beacon.Tracker;

/// <summary>
/// What the classifier remembers of one recipient's copy of one message. Mutated only under the lock of the
/// instance (<see cref="EngagementClassifier"/>).
/// </summary>
public sealed class RecipientState
{
    /// <summary>Clicks remembered per copy: enough to see a burst, small enough to bound memory.</summary>
    public const int MaxRecentClicks = 8;

    public bool OpenSeen { get; set; }

    public bool HumanOpenSeen { get; set; }

    public bool HumanClickSeen { get; set; }

    /// <summary>The latest clicks, oldest first: which link (its target's hash) and when (Unix milliseconds).</summary>
    public List<(int Link, long At)> RecentClicks { get; } = new(MaxRecentClicks);
}
