namespace Beacon.Tracker;

/// <summary>What the first path segment asks for (spec §F12.1–F12.2).</summary>
public enum TrackerRoute
{
    NotFound,

    /// <summary>/f/[sublink/]token: a click, answered 302.</summary>
    Click,

    /// <summary>/q/token, and /o/token as its alias (spec §5 Q13): an open, answered with the GIF.</summary>
    Open,

    /// <summary>/robots.txt: disallow everything.</summary>
    Robots,
}

public static class TrackerRoutes
{
    /// <summary>Routes on the first segment of the (decoded) path only; the token is taken from the raw target later.</summary>
    public static TrackerRoute Of(ReadOnlySpan<char> path)
    {
        if (path.IsEmpty || path[0] != '/')
        {
            return TrackerRoute.NotFound;
        }

        path = path[1..];
        var slash = path.IndexOf('/');
        var first = slash < 0 ? path : path[..slash];
        return first switch
        {
            "f" => TrackerRoute.Click,
            "q" or "o" => TrackerRoute.Open,
            "robots.txt" when slash < 0 => TrackerRoute.Robots,
            _ => TrackerRoute.NotFound,
        };
    }
}
