using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Beacon.Events;

/// <summary>
/// The one way events leave a stage. Producers hand events over without waiting for the disk; one writer task
/// appends them, in order, to the <see cref="IEventStore"/>: whatever is waiting, up to 1,000 events, in one
/// transaction. A store error (disk full, database locked, PostgreSQL away) is logged and the same batch retried
/// with a growing pause, never dropped while the process runs and never thrown at a producer; meanwhile events
/// wait in the channel. The composition root disposes the pipeline only after every producer (the SMTP listeners)
/// has stopped, so nothing published is lost on shutdown, unless the store still fails then (see DisposeAsync).
/// </summary>
public sealed class EventPipeline : IAsyncDisposable
{
    private const int BatchSize = 1000;

    private readonly Channel<BeaconEvent> _channel = Channel.CreateBounded<BeaconEvent>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly IEventStore _store;
    private readonly bool _ownsStore;
    private readonly ILogger<EventPipeline> _logger;
    private readonly CancellationTokenSource _abandon = new();
    private readonly EventPipelineMetrics? _metrics;
    private readonly Lock _gate = new();
    private readonly Task _writer;
    private int _disposed;
    private int _inFlight;
    private DateTimeOffset? _inFlightOldest;

    public EventPipeline(IEventStore store, ILogger<EventPipeline> logger, EventPipelineMetrics? metrics = null, TimeProvider? time = null)
        : this(store, ownsStore: false, logger, metrics, time)
    {
    }

    /// <summary>A pipeline into its own SQLite store in data_dir/events (for tests and tools).</summary>
    public EventPipeline(string dataDir, ILogger<EventPipeline> logger)
        : this(SqliteEventStore.Open(dataDir), ownsStore: true, logger, null, null)
    {
    }

    private EventPipeline(IEventStore store, bool ownsStore, ILogger<EventPipeline> logger, EventPipelineMetrics? metrics, TimeProvider? time)
    {
        _metrics = metrics;
        _store = store;
        _ownsStore = ownsStore;
        _logger = logger;
        _writer = Task.Run(WriteAsync);
        metrics?.Observe(this, time ?? TimeProvider.System);
    }

    public IEventStore Store => _store;

    /// <summary>Events published and not yet committed: those in the channel and the batch being written.</summary>
    public int Waiting => _channel.Reader.Count + Volatile.Read(ref _inFlight);

    /// <summary>The timestamp of the oldest event not yet committed, if any.</summary>
    public DateTimeOffset? OldestWaiting
    {
        get
        {
            lock (_gate)
            {
                if (_inFlightOldest is { } oldest)
                {
                    return oldest;
                }
            }

            return _channel.Reader.TryPeek(out var next) ? next.Timestamp : null;
        }
    }

    /// <summary>Queues an event. Waits only when 100,000 events are already waiting for the store.</summary>
    public ValueTask PublishAsync(BeaconEvent item) => _channel.Writer.WriteAsync(item);

    /// <summary>
    /// Queues an event without ever waiting: false when 100,000 events are already waiting (or the pipeline is
    /// closed). For producers that must answer at once whatever happens to the event, such as the tracker.
    /// </summary>
    public bool TryPublish(BeaconEvent item) => _channel.Writer.TryWrite(item);

    /// <summary>Writes what is waiting. If the store keeps failing, gives up after 30 s so that shutdown ends,
    /// logging how many events are lost.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return; // the composition root disposes it, and so does the service container
        }

        _channel.Writer.TryComplete();
        _abandon.CancelAfter(TimeSpan.FromSeconds(30));
        await _writer.ConfigureAwait(false);
        _abandon.Dispose();
        if (_ownsStore)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task WriteAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<BeaconEvent>(BatchSize);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < BatchSize && reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            lock (_gate)
            {
                _inFlightOldest = batch[0].Timestamp;
                Volatile.Write(ref _inFlight, batch.Count);
            }

            var appended = await AppendAsync(batch).ConfigureAwait(false);
            lock (_gate)
            {
                _inFlightOldest = null;
                Volatile.Write(ref _inFlight, 0);
            }

            if (!appended)
            {
                var lost = batch.Count;
                while (reader.TryRead(out _))
                {
                    lost++;
                }

                _logger.LogCritical("events: the store still fails at shutdown; {Count} events are lost", lost);
                return;
            }

            batch.Clear();
        }
    }

    /// <summary>Retries until the batch is committed; false only when shutdown gave up on the store.</summary>
    private async Task<bool> AppendAsync(List<BeaconEvent> batch)
    {
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await _store.AppendAsync(batch, CancellationToken.None).ConfigureAwait(false);
                if (_metrics is not null)
                {
                    foreach (var group in batch.GroupBy(e => e.Type))
                    {
                        _metrics.Written.Add(group.Count(), new KeyValuePair<string, object?>("type", group.Key.Name()));
                    }
                }

                return true;
            }
            catch (Exception e)
            {
                // Whatever the store throws (SqliteException, IOException, a driver's DbException): the process
                // must stay up and keep the events, so every failure is logged and retried.
                _metrics?.StoreErrors.Add(1);
                _logger.LogError(e, "events: could not store {Count} events; retrying in {Pause} ms", batch.Count, pause.TotalMilliseconds);
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
}
