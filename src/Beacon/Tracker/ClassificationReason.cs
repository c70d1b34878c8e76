namespace Beacon.Tracker;

/// <summary>
/// The closed set of signals behind a <see cref="Classification"/>, reported as "classification_reasons"
/// (docs/events.md describes each and its limits).
/// </summary>
[Flags]
public enum ClassificationReason
{
    None = 0,

    /// <summary>Purpose: prefetch, Sec-Purpose: prefetch…, X-Moz: prefetch or X-Purpose: preview.</summary>
    PrefetchHeader = 1 << 0,

    /// <summary>The user agent names an image proxy (GoogleImageProxy, ggpht.com, YahooMailProxy, …).</summary>
    ProxyUserAgent = 1 << 1,

    /// <summary>The client address is in a range mail providers fetch images from (Apple, Google).</summary>
    ProxyAddress = 1 << 2,

    /// <summary>The user agent names a robot: a scanner product, an HTTP library, a crawler, a headless browser.</summary>
    ScannerUserAgent = 1 << 3,

    /// <summary>Several distinct links of one recipient's copy were fetched within a few seconds of each other.</summary>
    LinkBurst = 1 << 4,

    /// <summary>A click within seconds of delivery, before any open of that recipient's copy.</summary>
    ClickBeforeOpen = 1 << 5,

    /// <summary>The user agent looks like a browser or mail client.</summary>
    BrowserUserAgent = 1 << 6,

    /// <summary>The request carried no user agent.</summary>
    NoUserAgent = 1 << 7,
}

public static class ClassificationReasons
{
    private static readonly (ClassificationReason Reason, string Name)[] All =
    [
        (ClassificationReason.PrefetchHeader, "prefetch_header"),
        (ClassificationReason.ProxyUserAgent, "proxy_user_agent"),
        (ClassificationReason.ProxyAddress, "proxy_address"),
        (ClassificationReason.ScannerUserAgent, "scanner_user_agent"),
        (ClassificationReason.LinkBurst, "link_burst"),
        (ClassificationReason.ClickBeforeOpen, "click_before_open"),
        (ClassificationReason.BrowserUserAgent, "browser_user_agent"),
        (ClassificationReason.NoUserAgent, "no_user_agent"),
    ];

    // Eight flags: every combination's list is built once (256 small arrays), so an event takes a shared list
    // instead of enumerating and allocating on each open and click.
    private static readonly string[][] Lists = [.. Enumerable.Range(0, 1 << All.Length).Select(bits => Build((ClassificationReason)bits).ToArray())];

    /// <summary>The "classification_reasons" values, in a fixed order.</summary>
    public static IReadOnlyList<string> Names(this ClassificationReason reasons) =>
        (uint)reasons < (uint)Lists.Length ? Lists[(int)reasons] : [.. Build(reasons)];

    private static IEnumerable<string> Build(ClassificationReason reasons)
    {
        foreach (var (reason, name) in All)
        {
            if ((reasons & reason) != 0)
            {
                yield return name;
            }
        }
    }
}
