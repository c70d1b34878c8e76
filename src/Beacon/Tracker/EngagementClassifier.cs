using Beacon.Links;

namespace Beacon.Tracker;

/// <summary>
/// Labels each open and click human, prefetch, image_proxy, scanner or unknown, and marks the first human open
/// and the first human click of each recipient (docs/events.md, "Classification"). Signals, strongest first:
/// prefetch headers; image-proxy agents and (opens only) addresses; robot agents, a burst of distinct links, or a
/// click within seconds of delivery before any open; then a browser agent. It labels; it never drops.
/// </summary>
public sealed class EngagementClassifier(RecipientStateStore states, TimeProvider time)
{
    /// <summary>Distinct links of one copy clicked this close together: a scanner following every link.</summary>
    public static readonly TimeSpan BurstWindow = TimeSpan.FromSeconds(5);

    /// <summary>A click this soon after delivery, with no open before it, is a scanner's (people read first).</summary>
    public static readonly TimeSpan DeliveryWindow = TimeSpan.FromSeconds(10);

    public EngagementVerdict Classify(TrackedLink link, string recipient, EngagementRequest request)
    {
        var reasons = ClassificationReason.None;
        var click = link.Kind == LinkKind.Click;
        if (request.Prefetch)
        {
            reasons |= ClassificationReason.PrefetchHeader;
        }

        if (ClientSignals.IsProxyAgent(request.UserAgent))
        {
            reasons |= ClassificationReason.ProxyUserAgent;
        }

        // Only opens: Apple's own staff click links from 17.0.0.0/8, its image proxy never clicks.
        if (!click && ClientSignals.IsProxyAddress(request.Address))
        {
            reasons |= ClassificationReason.ProxyAddress;
        }

        if (string.IsNullOrEmpty(request.UserAgent))
        {
            reasons |= ClassificationReason.NoUserAgent;
        }
        else if (ClientSignals.IsScannerAgent(request.UserAgent))
        {
            reasons |= ClassificationReason.ScannerUserAgent;
        }
        else if (ClientSignals.IsBrowserAgent(request.UserAgent))
        {
            reasons |= ClassificationReason.BrowserUserAgent;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var state = states.Get(link.MessageId, recipient);
        lock (state)
        {
            if (click)
            {
                reasons |= ClickTiming(link, state, now);
            }

            var classification = Decide(reasons);
            var first = false;
            if (click)
            {
                first = classification == Classification.Human && !state.HumanClickSeen;
                state.HumanClickSeen |= first;
            }
            else
            {
                first = classification == Classification.Human && !state.HumanOpenSeen;
                state.HumanOpenSeen |= first;

                // A person's open, or one nothing speaks against: later clicks are not "before any open".
                state.OpenSeen |= classification is Classification.Human or Classification.Unknown;
            }

            return new EngagementVerdict(classification, reasons, first);
        }
    }

    private static ClassificationReason ClickTiming(TrackedLink link, RecipientState state, long now)
    {
        var reasons = ClassificationReason.None;
        var id = link.Target!.GetHashCode(StringComparison.Ordinal);
        var clicks = state.RecentClicks;
        foreach (var (other, at) in clicks)
        {
            if (other != id && now - at < BurstWindow.TotalMilliseconds)
            {
                reasons |= ClassificationReason.LinkBurst;
                break;
            }
        }

        if (!state.OpenSeen && link.RenderedAt is { } rendered && now - (rendered * 1000) < DeliveryWindow.TotalMilliseconds)
        {
            reasons |= ClassificationReason.ClickBeforeOpen;
        }

        if (clicks.Count == RecipientState.MaxRecentClicks)
        {
            clicks.RemoveAt(0);
        }

        clicks.Add((id, now));
        return reasons;
    }

    private static Classification Decide(ClassificationReason reasons) =>
        (reasons & ClassificationReason.PrefetchHeader) != 0 ? Classification.Prefetch
        : (reasons & (ClassificationReason.ProxyUserAgent | ClassificationReason.ProxyAddress)) != 0 ? Classification.ImageProxy
        : (reasons & (ClassificationReason.ScannerUserAgent | ClassificationReason.LinkBurst | ClassificationReason.ClickBeforeOpen)) != 0 ? Classification.Scanner
        : (reasons & ClassificationReason.BrowserUserAgent) != 0 ? Classification.Human
        : Classification.Unknown;
}
