namespace Beacon.Tracker;

/// <summary>
/// What the tracker answers, independent of the transport: the HTTP layer adds Date, Content-Length and Connection,
/// and leaves the body out for HEAD. <see cref="Body"/> is one of the handler's shared constant arrays: never written to.
/// </summary>
public readonly record struct TrackerResponse(int Status, string? ContentType, byte[] Body)
{
    /// <summary>The redirect target of a 302, already an ASCII URL without control characters (<see cref="RedirectTarget"/>).</summary>
    public string? Location { get; init; }

    /// <summary>The Allow header of a 405.</summary>
    public string? Allow { get; init; }

    /// <summary>Cache-Control, Pragma, Expires and X-Robots-Tag that keep caches and search engines off the links (spec §5 Q23, §F12.3).</summary>
    public bool NoCache { get; init; }
}
