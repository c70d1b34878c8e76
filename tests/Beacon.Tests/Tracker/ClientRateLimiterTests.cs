using System.Net;
using Beacon.Tracker;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Tracker;

public sealed class ClientRateLimiterTests
{
    private static readonly IPAddress Client = IPAddress.Parse("198.51.100.7");

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A_burst_of_the_per_minute_limit_passes_then_one_token_a_second_refills()
    {
        var limiter = new ClientRateLimiter(60, 1000, _time);
        for (var i = 0; i < 60; i++)
        {
            Assert.True(limiter.TryAcquire(Client), $"request {i}");
        }

        Assert.False(limiter.TryAcquire(Client));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("198.51.100.8")), "another address has its own bucket");

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(limiter.TryAcquire(Client));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(limiter.TryAcquire(Client));
        Assert.False(limiter.TryAcquire(Client));

        _time.Advance(TimeSpan.FromHours(1)); // refills to the burst, not beyond
        for (var i = 0; i < 60; i++)
        {
            Assert.True(limiter.TryAcquire(Client));
        }

        Assert.False(limiter.TryAcquire(Client));
    }

    [Fact]
    public void Zero_turns_limiting_off()
    {
        var limiter = new ClientRateLimiter(0, 1000, _time);
        Assert.False(limiter.Enabled);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(limiter.TryAcquire(Client));
        }

        Assert.Equal(0, limiter.Count);
    }

    [Fact]
    public void Memory_stays_bounded_under_a_flood_of_addresses()
    {
        var limiter = new ClientRateLimiter(10, 1600, _time);
        for (var i = 0; i < 100_000; i++)
        {
            limiter.TryAcquire(new IPAddress(BitConverter.GetBytes(i)));
        }

        Assert.InRange(limiter.Count, 1, 1600);
    }

    [Fact]
    public void Idle_clients_are_forgotten_first()
    {
        var limiter = new ClientRateLimiter(10, 16, _time); // one address per shard
        for (var i = 0; i < 10; i++)
        {
            limiter.TryAcquire(Client);
        }

        Assert.False(limiter.TryAcquire(Client));
        _time.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 1000; i++)
        {
            limiter.TryAcquire(new IPAddress(BitConverter.GetBytes(i)));
        }

        Assert.InRange(limiter.Count, 1, 16);
        Assert.True(limiter.TryAcquire(Client));
    }
}
