using Beacon.Config;

namespace Beacon.Queue;

/// <summary>
/// When a recipient that failed temporarily is tried again: initial_interval × factor^(attempts − 1), at most
/// max_interval, and never after the message's max_age — the last attempt happens at that age, and a failure
/// then is final (bounce class 24).
/// </summary>
public sealed class RetrySchedule(RetryOptions options)
{
    public TimeSpan MaxAge => TimeSpan.FromSeconds(options.MaxAge);

    /// <summary>The time of the next attempt after <paramref name="attempts"/> failures, or null when the
    /// recipient has run out of time and must bounce.</summary>
    public DateTimeOffset? Next(int attempts, DateTimeOffset receivedAt, DateTimeOffset now)
    {
        var deadline = receivedAt + MaxAge;
        if (now >= deadline)
        {
            return null;
        }

        var seconds = Math.Min(options.InitialInterval * Math.Pow(options.Factor, Math.Max(attempts - 1, 0)), options.MaxInterval);
        var next = now + TimeSpan.FromSeconds(seconds);
        return next < deadline ? next : deadline;
    }
}
