namespace Beacon.Tracker.Http;

/// <summary>
/// How far the search for the end of one request's head has got, so that each receive scans only the new bytes
/// (a client sending one byte at a time costs a constant per byte, not the whole head again). Positions are
/// relative to the request's first byte. <c>default</c> is the state before any byte.
/// </summary>
internal struct HeadScan
{
    /// <summary>Bytes already searched for a line feed.</summary>
    public int Scanned;

    /// <summary>One past the request line's LF; 0 while it is not complete.</summary>
    public int LineEnd;

    /// <summary>One past the last field line's LF seen (<see cref="LineEnd"/> before the first).</summary>
    public int LastLineEnd;

    /// <summary>Field lines seen so far.</summary>
    public int Fields;
}
