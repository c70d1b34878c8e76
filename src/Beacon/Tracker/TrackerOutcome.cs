namespace Beacon.Tracker;

/// <summary>How the tracker dealt with one request: the "outcome" tag of beacon.tracker.requests.</summary>
public enum TrackerOutcome
{
    /// <summary>A valid, unexpired link: answered and its events handed to the pipeline.</summary>
    Recorded,

    /// <summary>A valid link past its expiry: answered (302 or GIF), nothing recorded (spec §5 Q18).</summary>
    Expired,

    /// <summary>A forged, truncated or undecodable token, or a target the tracker will not redirect to: 404 or the GIF.</summary>
    Invalid,

    /// <summary>Answered, not recorded: the client address is over rate_limit_per_minute.</summary>
    RateLimited,

    /// <summary>HEAD answers like GET and records nothing (spec §5 Q21).</summary>
    Head,

    /// <summary>/robots.txt.</summary>
    Robots,

    /// <summary>Any other path.</summary>
    NotFound,

    /// <summary>A method other than GET and HEAD: 405.</summary>
    MethodNotAllowed,
}

public static class TrackerOutcomes
{
    public static string Name(this TrackerOutcome outcome) => outcome switch
    {
        TrackerOutcome.Recorded => "recorded",
        TrackerOutcome.Expired => "expired",
        TrackerOutcome.Invalid => "invalid",
        TrackerOutcome.RateLimited => "rate_limited",
        TrackerOutcome.Head => "head",
        TrackerOutcome.Robots => "robots",
        TrackerOutcome.NotFound => "not_found",
        TrackerOutcome.MethodNotAllowed => "method_not_allowed",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome)),
    };
}
