namespace Beacon.Tracker;

/// <summary>Who most likely fetched a tracked link (docs/events.md, "Classification"). A label: nothing is dropped.</summary>
public enum Classification
{
    /// <summary>No signal either way: no user agent, or one that is neither a known browser nor a known robot.</summary>
    Unknown,

    /// <summary>A browser or mail client, with no sign of prefetching, proxying or scanning.</summary>
    Human,

    /// <summary>The client said it fetches ahead of the user (Purpose / Sec-Purpose / X-Moz: prefetch).</summary>
    Prefetch,

    /// <summary>A mail provider's image proxy (Apple Mail Privacy Protection, Gmail, Yahoo, Outlook) fetched the pixel.</summary>
    ImageProxy,

    /// <summary>A security scanner or other robot: its user agent, or the timing of its clicks, gave it away.</summary>
    Scanner,
}

public static class Classifications
{
    /// <summary>The "classification" field value.</summary>
    public static string Name(this Classification classification) => classification switch
    {
        Classification.Unknown => "unknown",
        Classification.Human => "human",
        Classification.Prefetch => "prefetch",
        Classification.ImageProxy => "image_proxy",
        Classification.Scanner => "scanner",
        _ => throw new ArgumentOutOfRangeException(nameof(classification)),
    };
}
