using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Beacon.Events;

/// <summary>
/// The one way events leave a stage. Producers hand events over without waiting for the disk. Two writers, in order:
/// <list type="number">
/// <item>the journal writer encodes each event as it comes and appends them to the <see cref="EventJournal"/>, one
/// write and fsync for all that came in the last 5 ms;</item>
/// <item>the indexer, a thread of its own at a lower CPU priority (nice 19 on Linux) that waits out bursts (up to
/// events.max_index_lag_seconds), reads the journal and appends
/// it to the <see cref="IEventStore"/> in transactions of up to 1,000 events, each of which also moves the store's
/// cursor for this journal, so that nothing is stored twice or skipped across a crash.</item>
/// </list>
/// Why: indexing an event into SQLite's B-trees costs ~40 µs of CPU, journaling it a few. Under a burst (a
/// campaign's clicks) the SMTP sessions and the tracker keep the CPU and answer at their own rate, the journal takes
/// every event at once, and the store catches up when the burst passes (the lag is <see cref="Backlog"/>). A store
/// error (disk full, database locked, PostgreSQL away) is logged and the batch retried with a growing pause; the
/// events wait in the journal, on disk. The composition root disposes the pipeline only after every producer has
/// stopped: what was published is then journaled, and what the store has not taken within 30 s stays in the
/// journal and is stored at the next start.
/// </summary>
public sealed class EventPipeline : IAsyncDisposable
{
    private const int BatchSize = 1000;

    /// <summary>Longest an event waits, encoded, for its fsync. The answers never wait for it (an SMTP 250 waits for
    /// the spool, a click's 302 for nothing), so this trades nothing but the last milliseconds before a power cut
    /// for one fsync per interval instead of one per handful of events.</summary>
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(5);

    private const int FlushBytes = 1024 * 1024;

    /// <summary>The journal growing faster than this (about 1,500 clicks or 1,000 injections a second) is a burst.</summary>
    private const long BusyBytesPerSecond = 1024 * 1024;

    /// <summary>How far the store may fall behind a burst by default (events.max_index_lag_seconds).</summary>
    public static readonly TimeSpan DefaultMaxIndexLag = TimeSpan.FromSeconds(30);

    private readonly TimeSpan _maxIndexLag;
    private readonly long _busyBytesPerSecond;
    private const int LowPriority = 19;

    private readonly Channel<BeaconEvent> _channel = Channel.CreateBounded<BeaconEvent>(
        // Synchronous continuations: the only continuation is the journal writer's wake-up (it blocks on the wait),
        // cheaper set on the producer's thread than queued to the thread pool once per batch.
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true });

    private readonly IEventStore _store;
    private readonly bool _ownsStore;
    private readonly EventJournal _journal;
    private readonly ILogger<EventPipeline> _logger;
    private readonly EventPipelineMetrics? _metrics;
    private readonly CancellationTokenSource _abandon = new();
    private readonly SemaphoreSlim _journaled = new(0);
    private readonly TaskCompletionSource _indexed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _journaledAll = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _storedPosition = -1;
    private int _disposed;
    private volatile bool _writerDone;

    /// <summary>A pipeline into <paramref name="store"/> through a journal in <paramref name="journalDirectory"/>.</summary>
    public EventPipeline(IEventStore store, string journalDirectory, ILogger<EventPipeline> logger, EventPipelineMetrics? metrics = null, TimeProvider? time = null,
        TimeSpan? maxIndexLag = null)
        : this(store, ownsStore: false, journalDirectory, logger, metrics: metrics, time: time, maxIndexLag: maxIndexLag)
    {
    }

    /// <summary>A pipeline into its own SQLite store in data_dir/events (for tests and tools).</summary>
    public EventPipeline(string dataDir, ILogger<EventPipeline> logger)
        : this(SqliteEventStore.Open(dataDir), ownsStore: true, JournalDirectory(dataDir), logger)
    {
    }

    /// <summary>As above, with journal segments of <paramref name="segmentLimit"/> bytes (tests).</summary>
    internal EventPipeline(IEventStore store, string journalDirectory, long segmentLimit, ILogger<EventPipeline> logger, TimeSpan? maxIndexLag = null, long busyBytesPerSecond = BusyBytesPerSecond)
        : this(store, ownsStore: false, journalDirectory, logger, segmentLimit, maxIndexLag: maxIndexLag, busyBytesPerSecond: busyBytesPerSecond)
    {
    }

    private EventPipeline(IEventStore store, bool ownsStore, string journalDirectory, ILogger<EventPipeline> logger, long segmentLimit = 64L * 1024 * 1024,
        EventPipelineMetrics? metrics = null, TimeProvider? time = null, TimeSpan? maxIndexLag = null, long busyBytesPerSecond = BusyBytesPerSecond)
    {
        _maxIndexLag = maxIndexLag ?? DefaultMaxIndexLag;
        _busyBytesPerSecond = busyBytesPerSecond;
        _metrics = metrics;
        _store = store;
        _ownsStore = ownsStore;
        _logger = logger;
        _journal = EventJournal.Open(journalDirectory, logger, segmentLimit);
        // Threads of their own, not the pool's: both block in fsync, and a pool thread blocked there is one that
        // Kestrel and the SMTP sessions wait for; and the indexer's thread takes the lowest priority.
        new Thread(Write) { IsBackground = true, Name = "beacon events journal" }.Start();
        new Thread(Index) { IsBackground = true, Name = "beacon events indexer" }.Start();
        metrics?.Observe(this, time ?? TimeProvider.System);
    }

    /// <summary>How long shutdown waits for the store to take the journal (30 s; tests use less).</summary>
    internal TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>data_dir/events/journal, whichever store is configured.</summary>
    public static string JournalDirectory(string dataDir) => Path.Combine(Path.GetFullPath(dataDir), "events", "journal");

    public IEventStore Store => _store;

    /// <summary>Events published and not yet journaled.</summary>
    public int Waiting => _channel.Reader.Count;

    /// <summary>The timestamp of the oldest event not yet journaled, if any.</summary>
    public DateTimeOffset? OldestWaiting => _channel.Reader.TryPeek(out var next) ? next.Timestamp : null;

    /// <summary>Bytes journaled and not yet stored: the store's lag behind the journal (0 when caught up).</summary>
    public long Backlog
    {
        get
        {
            var stored = Interlocked.Read(ref _storedPosition);
            return stored < 0 ? 0 : Math.Max(0, _journal.End - stored);
        }
    }

    /// <summary>Queues an event. Waits only when 100,000 events are already waiting for the journal.</summary>
    public ValueTask PublishAsync(BeaconEvent item) => _channel.Writer.WriteAsync(item);

    /// <summary>
    /// Queues an event without ever waiting: false when 100,000 events are already waiting (or the pipeline is
    /// closed). For producers that must answer at once whatever happens to the event, such as the tracker.
    /// </summary>
    public bool TryPublish(BeaconEvent item) => _channel.Writer.TryWrite(item);

    /// <summary>Journals what is waiting, then gives the store up to 30 s to take the journal; what it has not taken
    /// by then is stored at the next start.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // the composition root disposes it, and so does the service container
        }

        _channel.Writer.TryComplete();
        _abandon.CancelAfter(ShutdownGrace);
        await _journaledAll.Task.ConfigureAwait(false);
        _writerDone = true;
        _journaled.Release();
        await _indexed.Task.ConfigureAwait(false);
        var left = _journal.End - Interlocked.Read(ref _storedPosition);
        if (left > 0)
        {
            _logger.LogWarning("events: the store did not take the last {Bytes} bytes of the journal before shutdown; they are stored at the next start", left);
        }

        _journal.Dispose();
        _abandon.Dispose();
        if (_ownsStore)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The journal writer's thread: channel → journal. Events are encoded the moment they are taken, so none lives
    /// on as an object while it waits for the disk; the bytes are written and fsynced at most every
    /// <see cref="FlushInterval"/> (or at <see cref="FlushBytes"/>), one fsync for all that came meanwhile.
    /// </summary>
    private void Write()
    {
        try
        {
            var reader = _channel.Reader;
            var lastFlush = Stopwatch.GetTimestamp();
            var open = true;
            while (open)
            {
                while (_journal.PendingBytes < FlushBytes && reader.TryRead(out var item))
                {
                    _journal.Add(item);
                }

                var pending = _journal.PendingBytes > 0;
                var due = FlushInterval - Stopwatch.GetElapsedTime(lastFlush);
                if (pending && (due <= TimeSpan.Zero || _journal.PendingBytes >= FlushBytes))
                {
                    if (!Flush())
                    {
                        return;
                    }

                    lastFlush = Stopwatch.GetTimestamp();
                    continue;
                }

                if (pending)
                {
                    // Bytes pending: take what comes in slices of a millisecond rather than waking for every event
                    // (at tens of thousands of clicks a second, a wake-up each costs more than encoding them); a
                    // millisecond is too short for the waiting events to outlive a gen0 collection. (Never less than
                    // a whole millisecond: Thread.Sleep truncates, and 0 would spin.)
                    Thread.Sleep(1);
                }
                else
                {
                    open = reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();
                }
            }

            Flush();
        }
        finally
        {
            _journaledAll.TrySetResult();
        }
    }

    /// <summary>Makes the pending bytes durable, retrying on failure; false when shutdown gave up (then logged as lost).</summary>
    private bool Flush()
    {
        if (RetryAsync("journal", _journal.PendingCount, () => { _journal.Flush(); return Task.CompletedTask; }).GetAwaiter().GetResult())
        {
            _journaled.Release();
            return true;
        }

        var lost = 0;
        while (_channel.Reader.TryRead(out _))
        {
            lost++;
        }

        _logger.LogCritical("events: the journal still fails at shutdown; {Count} events are lost", _journal.PendingCount + lost);
        return false;
    }

    /// <summary>The indexer's thread: journal → store, from the store's cursor for this journal.</summary>
    private void Index()
    {
        try
        {
            LowerPriority();
            var cursor = $"journal:{_journal.Id}";
            var position = 0L;
            if (!RetryAsync("store", 0, async () => position = await _store.GetCursorAsync(cursor, CancellationToken.None).ConfigureAwait(false)).GetAwaiter().GetResult())
            {
                return;
            }

            position = Math.Clamp(position, _journal.Start, _journal.End);
            Interlocked.Exchange(ref _storedPosition, position);
            var batch = new List<EventRecord>(BatchSize);
            var burst = new BurstGauge(_journal.End, _busyBytesPerSecond);
            long? behindSince = null;
            while (!_abandon.IsCancellationRequested)
            {
                if (position >= _journal.End)
                {
                    if (_writerDone && position >= _journal.End)
                    {
                        return;
                    }

                    behindSince = null;
                    _journaled.Wait(TimeSpan.FromSeconds(1));
                    continue;
                }

                // During a burst the store waits, up to the lag limit: the CPU goes to answering (the events are
                // durable in the journal already), and the store catches up when the burst passes or the limit is
                // reached — then it indexes as it always does, so a burst that lasts keeps the lag near the limit.
                behindSince ??= Stopwatch.GetTimestamp();
                if (!_writerDone && burst.IsBurst(_journal.End) && Stopwatch.GetElapsedTime(behindSince.Value) < _maxIndexLag)
                {
                    Thread.Sleep(100);
                    continue;
                }

                var next = _journal.Read(position, BatchSize, batch);
                var mark = new StoreCursor(cursor, next);
                if (!RetryAsync("store", batch.Count, () => _store.AppendAsync(batch, mark, CancellationToken.None)).GetAwaiter().GetResult())
                {
                    return;
                }

                _metrics?.Stored(batch);

                position = next;
                Interlocked.Exchange(ref _storedPosition, position);
                batch.Clear();
                _journal.DeleteBefore(position);
            }
        }
        catch (Exception e)
        {
            _logger.LogCritical(e, "events: the indexer stopped; events stay in the journal and are stored at the next start");
        }
        finally
        {
            _indexed.TrySetResult();
        }
    }

    /// <summary>Retries until <paramref name="action"/> succeeds; false only when shutdown gave up waiting.</summary>
    private async Task<bool> RetryAsync(string what, int count, Func<Task> action)
    {
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await action().ConfigureAwait(false);
                return true;
            }
            catch (Exception e)
            {
                // Whatever the journal or the store throws (IOException, SqliteException, a driver's DbException):
                // the process must stay up and keep the events, so every failure is logged and retried.
                _metrics?.Errors.Add(1, new KeyValuePair<string, object?>("stage", what));
                _logger.LogError(e, "events: the {What} failed with {Count} events; retrying in {Pause} ms", what, count, pause.TotalMilliseconds);
            }

            try
            {
                await Task.Delay(pause, _abandon.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }

    /// <summary>Linux keeps a nice value per thread: at nice 19 the indexer gets about 1/70 of a core that the
    /// answering threads want (CFS weights 15 against 1024), and all of one they leave idle.</summary>
    private void LowerPriority()
    {
        if (OperatingSystem.IsLinux() && SetPriority(0, GetThreadId(), LowPriority) != 0)
        {
            _logger.LogDebug("events: could not lower the indexer's priority (errno {Error})", Marshal.GetLastPInvokeError());
        }
    }

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();

    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, int who, int priority);

    /// <summary>The journal's growth rate, sampled at most once a second by the indexer's thread alone.</summary>
    private sealed class BurstGauge(long end, long busyBytesPerSecond)
    {
        private long _end = end;
        private long _at = Stopwatch.GetTimestamp();
        private bool _burst = busyBytesPerSecond == 0;

        public bool IsBurst(long end)
        {
            var elapsed = Stopwatch.GetElapsedTime(_at);
            if (elapsed >= TimeSpan.FromSeconds(1))
            {
                _burst = busyBytesPerSecond == 0 || (end - _end) / elapsed.TotalSeconds > busyBytesPerSecond;
                _end = end;
                _at = Stopwatch.GetTimestamp();
            }

            return _burst;
        }
    }
}
