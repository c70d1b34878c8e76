using Beacon.Events;
using Microsoft.Extensions.Logging;

namespace Beacon.Webhooks;

/// <summary>
/// Sends one webhook's events, in store order, in batches; one dispatcher per webhook per node.
/// </summary>
/// <remarks>
/// Design. The dispatcher reads the store through its own cursor ("webhook:NAME"), so a dead endpoint holds back only
/// its own webhook and nothing is lost while it is down (ARCHITECTURE §5.9). Each step first takes or renews the
/// lease "webhook:NAME"; only the holder reads, sends and moves the cursor, so in a fleet exactly one node sends a
/// batch and the cursor is shared. The lease lasts the send timeout plus a margin (30 s) and each step
/// (one send at most) renews it first, so it can't lapse in the middle of a send and let a second node resend the
/// same events. A batch being retried lives in this node's memory: if the node dies, the next holder re-reads the
/// same events from the cursor and sends them under a new batch id (receivers de-duplicate by event_id).
/// Every step is <see cref="RunOnceAsync"/>, which returns how long to wait before the next one; tests drive it
/// with a fake clock.
/// </remarks>
public sealed class WebhookDispatcher
{
    internal static readonly TimeSpan DefaultLeaseMargin = TimeSpan.FromSeconds(30);
    private const int ReadPage = 1000;

    private readonly WebhookOptions _options;
    private readonly IEventStore _store;
    private readonly WebhookSender _sender;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _owner;
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _leaseMargin;
    private readonly HashSet<EventType> _types;
    private readonly List<StoredEvent> _pending = [];
    private WebhookStatus _status;
    private long _cursor = -1; // -1: not loaded from the store since the lease was taken
    private long _scanned;
    private DateTimeOffset? _windowStart;
    private WebhookBatch? _batch;

    public WebhookDispatcher(WebhookOptions options, IEventStore store, HttpClient client, TimeProvider time, ILogger logger, string owner, TimeSpan pollInterval,
        TimeSpan? leaseMargin = null)
    {
        _options = options;
        _store = store;
        _sender = new WebhookSender(options, client, time);
        _time = time;
        _logger = logger;
        _owner = owner;
        _pollInterval = pollInterval;
        _leaseMargin = leaseMargin ?? DefaultLeaseMargin;
        _types = WebhookEvents.Select(options.Events);
        Name = options.EffectiveName;
        _status = new WebhookStatus { Name = Name, Target = options.Target };
    }

    public string Name { get; }

    /// <summary>The store cursor and lease name.</summary>
    public string Key => "webhook:" + Name;

    public WebhookStatus Status => Volatile.Read(ref _status);

    internal TimeSpan LeaseDuration => TimeSpan.FromSeconds(_options.Timeout) + _leaseMargin;

    /// <summary>Steps until cancelled. Store errors are logged and retried after the poll interval.</summary>
    public async Task RunAsync(CancellationToken cancellation)
    {
        while (!cancellation.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await RunOnceAsync(cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
            {
                _logger.LogError(e, "webhook {Name}: event store error; retrying", Name);
                Update(s => s with { LastError = "event store: " + e.Message, LastErrorAt = _time.GetUtcNow() });
                wait = _pollInterval;
            }

            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _time, cancellation).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One step: renew the lease, gather events, send or retry a batch when due. Returns the time until the
    /// next step is useful (zero when more is waiting).</summary>
    public async Task<TimeSpan> RunOnceAsync(CancellationToken cancellation)
    {
        if (!await _store.TryLeaseAsync(Key, _owner, LeaseDuration, cancellation).ConfigureAwait(false))
        {
            if (Status.Sending)
            {
                _logger.LogInformation("webhook {Name}: another node holds the lease; this node stops sending", Name);
            }

            Forget();
            Update(s => s with { Sending = false, RetryingBatchId = null, NextAttempt = null });
            return _pollInterval;
        }

        var now = _time.GetUtcNow();
        if (_batch is null)
        {
            var due = await GatherAsync(now, cancellation).ConfigureAwait(false);
            if (due is { } wait)
            {
                return wait;
            }
        }

        var batch = _batch!;
        if (now < batch.NextAttempt)
        {
            return Min(_pollInterval, batch.NextAttempt - now);
        }

        var result = await _sender.SendAsync(batch, cancellation).ConfigureAwait(false);
        now = _time.GetUtcNow();
        batch.Attempts++;
        if (result.Success)
        {
            // The receiver has the batch: record that even if a stop arrives now, or it would be sent again.
            await AdvanceAsync(batch, CancellationToken.None).ConfigureAwait(false);
            Update(s => s with
            {
                LastSuccess = now,
                ConsecutiveFailures = 0,
                BatchesSent = s.BatchesSent + 1,
                EventsSent = s.EventsSent + batch.Events.Count,
                RetryingBatchId = null,
                NextAttempt = null,
            });
            return TimeSpan.Zero;
        }

        var deadline = batch.FirstAttempt + TimeSpan.FromSeconds(_options.RetryFor);
        if (now >= deadline)
        {
            _logger.LogError("webhook {Name}: dropped batch {BatchId} of {Count} events (sequences to {Through}) after {Attempts} attempts over {Hours:0.#} h; last error: {Error}",
                Name, batch.Id, batch.Events.Count, batch.Through, batch.Attempts, (now - batch.FirstAttempt).TotalHours, result.Error);
            await AdvanceAsync(batch, cancellation).ConfigureAwait(false);
            Update(s => s with
            {
                ConsecutiveFailures = s.ConsecutiveFailures + 1,
                FailedAttempts = s.FailedAttempts + 1,
                LastError = result.Error,
                LastErrorAt = now,
                DroppedBatches = s.DroppedBatches + 1,
                DroppedEvents = s.DroppedEvents + batch.Events.Count,
                LastDroppedBatchId = batch.Id,
                RetryingBatchId = null,
                NextAttempt = null,
            });
            return TimeSpan.Zero;
        }

        batch.NextAttempt = Min(now + Backoff(batch.Attempts), deadline);
        _logger.LogWarning("webhook {Name}: batch {BatchId} failed ({Error}); attempt {Attempt} at {Next:O}", Name, batch.Id, result.Error, batch.Attempts + 1, batch.NextAttempt);
        Update(s => s with
        {
            ConsecutiveFailures = s.ConsecutiveFailures + 1,
            FailedAttempts = s.FailedAttempts + 1,
            LastError = result.Error,
            LastErrorAt = now,
            RetryingBatchId = batch.Id,
            NextAttempt = batch.NextAttempt,
        });
        return Min(_pollInterval, batch.NextAttempt - now);
    }

    /// <summary>The wait after the n-th failed attempt: base, 2×base, 4×base … capped (1, 2, 4 … 32, 60, 60 minutes).</summary>
    internal TimeSpan Backoff(int failedAttempts)
    {
        var seconds = _options.RetryBase * Math.Pow(2, Math.Min(failedAttempts - 1, 30));
        return TimeSpan.FromSeconds(Math.Min(seconds, _options.RetryMaxInterval));
    }

    /// <summary>Reads events after the cursor into the pending batch; makes <see cref="_batch"/> when it is full or
    /// its interval has passed, else returns how long to wait.</summary>
    private async Task<TimeSpan?> GatherAsync(DateTimeOffset now, CancellationToken cancellation)
    {
        var stored = await _store.GetCursorAsync(Key, cancellation).ConfigureAwait(false);
        if (stored != _cursor)
        {
            // First step with the lease, or another node (or an operator) moved the cursor: start over from it.
            Forget();
            _cursor = _scanned = stored;
        }

        // All types are read, not only the wanted ones, so the cursor also passes events this webhook ignores.
        while (_pending.Count < _options.BatchSize)
        {
            var page = await _store.ReadAfterAsync(_scanned, ReadPage, null, cancellation).ConfigureAwait(false);
            foreach (var item in page)
            {
                if (_types.Contains(item.Type))
                {
                    _pending.Add(item);
                }

                _scanned = item.Sequence;
                if (_pending.Count == _options.BatchSize)
                {
                    break;
                }
            }

            if (page.Count < ReadPage)
            {
                break;
            }
        }

        Update(s => s with { Sending = true, Cursor = _cursor, NewestSequence = Math.Max(s.NewestSequence, _scanned) });
        if (_pending.Count == 0)
        {
            if (_scanned > _cursor)
            {
                await _store.SetCursorAsync(Key, _scanned, cancellation).ConfigureAwait(false);
                _cursor = _scanned;
                Update(s => s with { Cursor = _cursor });
            }

            return _pollInterval;
        }

        _windowStart ??= now;
        var interval = TimeSpan.FromSeconds(_options.BatchInterval);
        if (_pending.Count < _options.BatchSize && now - _windowStart.Value < interval)
        {
            return Min(_pollInterval, _windowStart.Value + interval - now);
        }

        _batch = new WebhookBatch(Guid.NewGuid(), [.. _pending], _scanned, now);
        return null;
    }

    private async Task AdvanceAsync(WebhookBatch batch, CancellationToken cancellation)
    {
        await _store.SetCursorAsync(Key, batch.Through, cancellation).ConfigureAwait(false);
        _cursor = batch.Through;
        _pending.Clear();
        _windowStart = null;
        _batch = null;
        Update(s => s with { Cursor = _cursor });
    }

    private void Forget()
    {
        _cursor = -1;
        _pending.Clear();
        _windowStart = null;
        _batch = null;
    }

    private void Update(Func<WebhookStatus, WebhookStatus> change) => Volatile.Write(ref _status, change(_status));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
