using Beacon.Config;
using Beacon.Queue;

namespace Beacon.Tests.Queue;

public sealed class RetryScheduleTests
{
    private static readonly DateTimeOffset Received = new(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1, 60)]
    [InlineData(2, 120)]
    [InlineData(3, 240)]
    [InlineData(6, 1920)]
    [InlineData(7, 3600)] // 3840 capped at max_interval
    [InlineData(30, 3600)]
    public void Waits_grow_exponentially_from_one_minute_to_one_hour(int attempts, int seconds)
    {
        var schedule = new RetrySchedule(new RetryOptions());
        var now = Received.AddMinutes(5);
        Assert.Equal(now.AddSeconds(seconds), schedule.Next(attempts, Received, now));
    }

    [Fact]
    public void The_last_attempt_is_at_max_age_and_a_failure_then_is_final()
    {
        var schedule = new RetrySchedule(new RetryOptions { MaxAge = 3 * 86400 });
        var deadline = Received.AddDays(3);
        Assert.Equal(deadline, schedule.Next(40, Received, deadline.AddMinutes(-10)));
        Assert.Null(schedule.Next(41, Received, deadline));
        Assert.Null(schedule.Next(41, Received, deadline.AddSeconds(1)));
    }
}
