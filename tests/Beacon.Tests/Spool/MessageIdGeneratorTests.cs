using Beacon.Spool;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Spool;

public sealed class MessageIdGeneratorTests
{
    [Fact]
    public void Ids_are_20_lowercase_hex_characters_ordered_by_time_even_when_the_clock_steps_back()
    {
        var time = new ManualClock { Now = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero) };
        var ids = new MessageIdGenerator("node-a", time);
        var first = ids.NextMessageId();
        var second = ids.NextMessageId();
        time.Now = time.Now.AddMinutes(-5);
        var third = ids.NextMessageId();
        time.Now = time.Now.AddHours(1);
        var fourth = ids.NextMessageId();

        Assert.Matches("^[0-9a-f]{20}$", first);
        Assert.True(string.CompareOrdinal(first, second) < 0);
        Assert.True(string.CompareOrdinal(second, third) < 0);
        Assert.True(string.CompareOrdinal(third, fourth) < 0);
    }

    [Fact]
    public void Nodes_differ_in_their_ids_at_the_same_instant()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(56));
        Assert.NotEqual(new MessageIdGenerator("node-a", time).NextMessageId(), new MessageIdGenerator("node-b", time).NextMessageId());
    }

    [Fact]
    public void Two_nodes_at_the_same_instant_give_different_event_ids()
    {
        var time = new ManualClock { Now = new DateTimeOffset(2026, 11, 27, 4, 0, 0, TimeSpan.Zero) };
        var a = new MessageIdGenerator("node-1", time);
        var b = new MessageIdGenerator("node-2", time);
        var ids = Enumerable.Range(0, 100).SelectMany(_ => new[] { a.NextDecimalId(), b.NextDecimalId() }).ToList();
        Assert.Equal(200, ids.Distinct().Count());
    }

    [Fact]
    public void Concurrent_callers_never_get_the_same_id()
    {
        var ids = new MessageIdGenerator("n", TimeProvider.System);
        var all = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 20_000, _ => all.Add(ids.NextDecimalId()));
        Assert.Equal(20_000, all.Distinct().Count());
    }

    /// <summary>A clock that may be set backwards, as a real one can be (FakeTimeProvider refuses to).</summary>
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
