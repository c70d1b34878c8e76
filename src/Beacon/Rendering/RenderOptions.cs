namespace Beacon.Rendering;

/// <summary>
/// What one recipient's copy gets. Built by delivery from the settings frozen at ingress; the two delegates come
/// from the tracked-link codec (<c>Links/</c>), so the renderer never knows how a link is sealed.
/// </summary>
internal sealed class RenderOptions
{
    public bool OpenTracking { get; init; }

    public bool ClickTracking { get; init; }

    /// <summary>Also insert the <c>initial_open</c> pixel right after <c>&lt;body…&gt;</c> (spec §5 Q10; off by default).</summary>
    public bool InitialOpen { get; init; }

    /// <summary><c>host</c> or <c>host:port</c>; links already pointing there are left alone.</summary>
    public string TrackingDomain { get; init; } = "localhost:8080";

    /// <summary>Top-level header fields dropped from every copy (spec §5 Q2), compared case-insensitively.</summary>
    public IReadOnlyList<string> RemoveHeaders { get; init; } = ["X-MSYS-API"];

    /// <summary>
    /// Top-level header fields dropped only from a copy in which a part was actually rewritten (links, pixel,
    /// macros, a new Content-Transfer-Encoding): a sender's DKIM signature hashes the body and would fail there,
    /// while a copy left as it was keeps its still valid signature. Compared case-insensitively.
    /// </summary>
    public IReadOnlyList<string> RemoveHeadersWhenRewritten { get; init; } = ["DKIM-Signature"];

    /// <summary>Turns a decoded link target into the tracked URL written in its place.</summary>
    public Func<ClickTarget, string> ClickUrl { get; init; } = static target => target.Url;

    /// <summary>The pixel URL; the argument is true for the <c>initial_open</c> pixel.</summary>
    public Func<bool, string> OpenUrl { get; init; } = static _ => string.Empty;
}
