using System.Text.Json.Nodes;
using Beacon.Events;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Tests.Events;

/// <summary>The pipeline's journal alone (segments, torn tails, damage) and with a real SQLite store behind it
/// (exactly once across restarts, a store that fails at shutdown).</summary>
public sealed class EventJournalTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("beacon-journal-").FullName;

    private string JournalDir => Path.Combine(_dir, "journal");

    private static BeaconEvent Event(int n) =>
        new BeaconEvent(EventType.Click, $"e{n}", Start.AddSeconds(n))
            .Set("message_id", $"m{n}")
            .Set("rcpt_to", $"r{n}@Example.COM")
            .Set("raw_rcpt_to", $"r{n}@Example.COM")
            .Set("rcpt_meta", new JsonObject { ["plan"] = "gold", ["ünïcode"] = "✓" })
            .Set("target_link_url", "https://example.com/" + new string('x', n % 300))
            .Set("classification", n % 2 == 0 ? "human" : null);

    private static List<BeaconEvent> Events(int from, int count) => [.. Enumerable.Range(from, count).Select(Event)];

    /// <summary>What the store should get for those events: the same as appending them without the journal.</summary>
    private static List<EventRecord> Records(int from, int count) => [.. Events(from, count).Select(e => e.ToRecord())];

    private static List<EventRecord> ReadAll(EventJournal journal, long from = 0)
    {
        var all = new List<EventRecord>();
        var position = Math.Max(from, journal.Start);
        while (position < journal.End)
        {
            var batch = new List<EventRecord>();
            position = journal.Read(position, 100, batch);
            all.AddRange(batch);
        }

        return all;
    }

    [Fact]
    public void Records_come_back_whole_and_in_order_across_segments_and_reopening()
    {
        using (var journal = EventJournal.Open(JournalDir, NullLogger.Instance, segmentLimit: 16 * 1024))
        {
            for (var i = 0; i < 20; i++)
            {
                journal.Append(Events(i * 50, 50));
            }

            Assert.True(Directory.GetFiles(JournalDir, "*.journal").Length > 5);
            var all = ReadAll(journal);
            Assert.Equal(Records(0, 1000), all);
        }

        using var reopened = EventJournal.Open(JournalDir, NullLogger.Instance, segmentLimit: 16 * 1024);
        reopened.Append(Events(1000, 10));
        Assert.Equal(Records(0, 1010), ReadAll(reopened));
    }

    [Fact]
    public void Added_events_are_neither_readable_nor_kept_until_flushed()
    {
        using (var journal = EventJournal.Open(JournalDir, NullLogger.Instance))
        {
            journal.Append(Events(0, 3));
            var end = journal.End;
            foreach (var item in Events(3, 4))
            {
                journal.Add(item);
            }

            Assert.Equal(end, journal.End);
            Assert.Equal(Records(0, 3), ReadAll(journal));
            Assert.Equal(4, journal.PendingCount);

            Assert.True(journal.Flush() > end);
            Assert.Equal(0, journal.PendingBytes);
            Assert.Equal(Records(0, 7), ReadAll(journal));

            journal.Add(Event(7)); // never flushed: a crash now loses it, and only it
        }

        using var reopened = EventJournal.Open(JournalDir, NullLogger.Instance);
        Assert.Equal(Records(0, 7), ReadAll(reopened));
    }

    [Fact]
    public void Segments_before_a_stored_position_are_deleted_and_reading_goes_on_after_them()
    {
        using var journal = EventJournal.Open(JournalDir, NullLogger.Instance, segmentLimit: 8 * 1024);
        for (var i = 0; i < 10; i++)
        {
            journal.Append(Events(i * 20, 20));
        }

        var batch = new List<EventRecord>();
        var position = journal.Read(0, 150, batch);
        journal.DeleteBefore(position);

        Assert.True(journal.Start > 0 && journal.Start <= position);
        Assert.Equal(Records(150, 50), ReadAll(journal, position));
    }

    [Fact]
    public void A_torn_record_at_the_end_is_cut_off_on_open_and_writing_goes_on_after_the_last_whole_one()
    {
        long end;
        using (var journal = EventJournal.Open(JournalDir, NullLogger.Instance))
        {
            end = journal.Append(Events(0, 10));
        }

        var segment = Directory.GetFiles(JournalDir, "*.journal").Single();
        using (var file = new FileStream(segment, FileMode.Append))
        {
            file.Write([200, 1, 0, 0, 1, 2, 3, 4, 5, 6]); // a header and the first bytes of a record a crash cut short
        }

        using var reopened = EventJournal.Open(JournalDir, NullLogger.Instance);
        Assert.Equal(end, reopened.End);
        Assert.Equal(end, new FileInfo(segment).Length);
        reopened.Append(Events(10, 5));
        Assert.Equal(Records(0, 15), ReadAll(reopened));
    }

    [Fact]
    public void A_damaged_record_in_a_closed_segment_sets_that_segment_aside_and_reading_goes_on_with_the_next()
    {
        using var journal = EventJournal.Open(JournalDir, NullLogger.Instance, segmentLimit: 4 * 1024);
        journal.Append(Events(0, 20));
        journal.Append(Events(20, 20));
        journal.Append(Events(40, 20));
        var segments = Directory.GetFiles(JournalDir, "*.journal").Order().ToList();
        Assert.True(segments.Count >= 3);
        using (var file = new FileStream(segments[0], FileMode.Open))
        {
            file.Position = 20; // inside the first record's payload: its CRC no longer matches
            file.WriteByte(0xFF);
        }

        var all = ReadAll(journal);

        Assert.True(File.Exists(Path.ChangeExtension(segments[0], ".damaged")));
        Assert.Equal(Records(20, 40), all); // the first segment held the first batch exactly
    }

    [Fact]
    public async Task The_store_gets_every_event_once_across_a_restart_and_a_store_that_fails_at_shutdown()
    {
        var store = SqliteEventStore.Open(_dir);
        var failing = new FailingStore(store);
        var pipeline = new EventPipeline(failing, JournalDir, 16 * 1024, NullLogger<EventPipeline>.Instance);
        for (var i = 0; i < 3000; i++)
        {
            await pipeline.PublishAsync(new BeaconEvent(EventType.Delivery, $"e{i}", Start).Set("message_id", $"m{i}"));
        }

        await WaitUntilAsync(async () => (await store.ReadAfterAsync(0, 10_000, null, default)).Count == 3000);
        failing.Fails = true; // the store goes away: what comes now stays in the journal
        for (var i = 3000; i < 3500; i++)
        {
            await pipeline.PublishAsync(new BeaconEvent(EventType.Delivery, $"e{i}", Start).Set("message_id", $"m{i}"));
        }

        pipeline.ShutdownGrace = TimeSpan.FromSeconds(1);
        await pipeline.DisposeAsync(); // gives up on the store
        Assert.Equal(3000, (await store.ReadAfterAsync(0, 10_000, null, default)).Count);

        var restarted = new EventPipeline(store, JournalDir, 16 * 1024, NullLogger<EventPipeline>.Instance);
        await restarted.DisposeAsync();

        var stored = await store.ReadAfterAsync(0, 10_000, null, default);
        Assert.Equal(Enumerable.Range(0, 3500).Select(i => $"m{i}"), stored.Select(e => e.MessageId));
        Assert.True(Directory.GetFiles(JournalDir, "*.journal").Length <= 2); // stored segments are gone
        await store.DisposeAsync();
    }

    [Fact]
    public async Task During_a_burst_the_store_waits_up_to_the_lag_limit_and_then_takes_every_event()
    {
        var store = SqliteEventStore.Open(_dir);
        // Every rate counts as a burst here; the limit is 2 s.
        var pipeline = new EventPipeline(store, JournalDir, 16 * 1024, NullLogger<EventPipeline>.Instance, maxIndexLag: TimeSpan.FromSeconds(2), busyBytesPerSecond: 0);
        for (var i = 0; i < 200; i++)
        {
            await pipeline.PublishAsync(new BeaconEvent(EventType.Click, $"e{i}", Start).Set("message_id", $"m{i}"));
        }

        await Task.Delay(300);
        Assert.Empty(await store.ReadAfterAsync(0, 10_000, null, default)); // journaled, not stored yet: the lag is under 2 s
        await WaitUntilAsync(async () => (await store.ReadAfterAsync(0, 10_000, null, default)).Count == 200);
        await pipeline.DisposeAsync();

        var atOnce = new EventPipeline(store, JournalDir, 16 * 1024, NullLogger<EventPipeline>.Instance, maxIndexLag: TimeSpan.Zero, busyBytesPerSecond: 0);
        await atOnce.PublishAsync(new BeaconEvent(EventType.Click, "e200", Start).Set("message_id", "m200"));
        await WaitUntilAsync(async () => (await store.ReadAfterAsync(0, 10_000, null, default)).Count == 201); // a limit of 0 never waits
        await atOnce.DisposeAsync();
        Assert.Equal(Enumerable.Range(0, 201).Select(i => $"m{i}"), (await store.ReadAfterAsync(0, 10_000, null, default)).Select(e => e.MessageId));
        await store.DisposeAsync();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 300 && !await condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(await condition());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The real store, made to fail on demand, as a disk that fills up or a database that goes away.</summary>
    private sealed class FailingStore(IEventStore inner) : IEventStore
    {
        public volatile bool Fails;

        public Task AppendAsync(IReadOnlyList<EventRecord> events, StoreCursor? cursor, CancellationToken cancellation) =>
            Fails ? throw new IOException("disk full") : inner.AppendAsync(events, cursor, cancellation);

        public Task<IReadOnlyList<StoredEvent>> ReadAfterAsync(long afterSequence, int limit, IReadOnlySet<EventType>? types, CancellationToken cancellation) =>
            inner.ReadAfterAsync(afterSequence, limit, types, cancellation);

        public Task<EventPage> SearchAsync(EventQuery query, CancellationToken cancellation) => inner.SearchAsync(query, cancellation);

        public Task<long> LatestSequenceAsync(CancellationToken cancellation) => inner.LatestSequenceAsync(cancellation);

        public Task<long> PurgeAsync(DateTimeOffset before, CancellationToken cancellation) => inner.PurgeAsync(before, cancellation);

        public Task<long> GetCursorAsync(string name, CancellationToken cancellation) => inner.GetCursorAsync(name, cancellation);

        public Task SetCursorAsync(string name, long sequence, CancellationToken cancellation) => inner.SetCursorAsync(name, sequence, cancellation);

        public Task<bool> TryLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellation) =>
            inner.TryLeaseAsync(name, owner, duration, cancellation);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
