using System.Collections.Concurrent;
using Beacon.Config;
using Beacon.Events;
using Beacon.Spool;
using Microsoft.Extensions.Logging;

namespace Beacon.Queue;

/// <summary>
/// Every unfinished recipient, in memory, ready or waiting for its retry time. Design note: the spool is the
/// truth and this is an index of it: a message enters at commit (or recovery), is split into one
/// <see cref="WorkItem"/> per destination, and each completion changes the recipients' states under the
/// message's lock and writes them to the spool before anything else happens; when every recipient is final the
/// message leaves the spool. A crash loses only this index, rebuilt by the next start from the spool.
/// Deferred items wait in one priority queue ordered by due time; one timer is set to the earliest.
/// </summary>
public sealed class DeliveryQueue : IAsyncDisposable
{
    /// <summary>SparkPost bounce classes the queue itself decides (docs/events.md).</summary>
    public const int TimeoutBounceClass = 24;

    public const int AdminBounceClass = 25;

    private readonly ConcurrentDictionary<string, QueuedMessage> _messages = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DestinationQueue> _destinations = new(StringComparer.Ordinal);
    private readonly PriorityQueue<WorkItem, DateTimeOffset> _timers = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly DeliveryOptions _options;
    private readonly SpoolStore _spool;
    private readonly DeliveryEvents _events;
    private readonly Router _router;
    private readonly RetrySchedule _retry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BounceNotices? _notices;
    private readonly DeliveryMetrics? _metrics;
    private Func<DestinationQueue, CancellationToken, Task>? _worker;
    private ITimer? _timer;

    public DeliveryQueue(DeliveryOptions options, SpoolStore spool, DeliveryEvents events, Router router, TimeProvider time, ILogger<DeliveryQueue> logger, BounceNotices? notices = null, DeliveryMetrics? metrics = null)
    {
        _metrics = metrics;
        _notices = notices;
        _options = options;
        _spool = spool;
        _events = events;
        _router = router;
        _retry = new RetrySchedule(options.Retry);
        _time = time;
        _logger = logger;
        metrics?.Observe(this, spool);
    }

    /// <summary>Messages with unfinished recipients.</summary>
    public int Messages => _messages.Count;

    public IEnumerable<DestinationQueue> Destinations => _destinations.Values;

    /// <summary>Work items waiting for their retry time.</summary>
    public int Waiting
    {
        get
        {
            lock (_timers)
            {
                return _timers.Count;
            }
        }
    }

    /// <summary>What waits where, right now: per destination its ready and deferred items, messages and workers.</summary>
    public QueueSnapshot Snapshot()
    {
        List<WorkItem> deferred;
        lock (_timers)
        {
            deferred = [.. _timers.UnorderedItems.Select(t => t.Element).Where(i => !i.Cancelled)];
        }

        return QueueSnapshot.Take(Messages, _destinations.Values, deferred);
    }

    /// <summary>Starts delivering: <paramref name="worker"/> runs one connection's worth of a destination's items.</summary>
    public async Task StartAsync(IEnumerable<SpooledMessage> recovered, Func<DestinationQueue, CancellationToken, Task> worker)
    {
        _worker = worker;
        _timer = _time.CreateTimer(_ => FireDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var message in recovered)
        {
            await EnqueueAsync(message).ConfigureAwait(false);
        }
    }

    /// <summary>Takes a newly committed (or recovered) message.</summary>
    public async Task EnqueueAsync(SpooledMessage message)
    {
        if (_options.Suspended)
        {
            return;
        }

        var entry = new QueuedMessage(message);
        var now = _time.GetUtcNow();
        var items = new List<(WorkItem Item, bool Bounce)>();
        lock (entry.Gate)
        {
            var groups = message.Recipients
                .Select((recipient, index) => (recipient, index))
                .Where(r => r.recipient.State == RecipientState.Queued)
                .GroupBy(r => (Route: _router.Resolve(Router.DomainOf(r.recipient.Address)), Due: r.recipient.NextAttemptAt ?? now, r.recipient.BounceRequested));
            foreach (var group in groups)
            {
                items.Add((new WorkItem(entry, group.Key.Route, [.. group.Select(r => r.index)], group.Key.Due), group.Key.BounceRequested));
            }

            entry.Outstanding = items.Count;
        }

        if (items.Count == 0)
        {
            // Every recipient was final before a crash let the message stay behind.
            _spool.Remove(message.MessageId);
            return;
        }

        _messages[message.MessageId] = entry;
        foreach (var (item, bounce) in items)
        {
            if (bounce)
            {
                await CompleteAsync(item, [.. item.Recipients.Select(AdminBounce)]).ConfigureAwait(false);
            }
            else
            {
                Schedule(item, now);
            }
        }
    }

    /// <summary>`beacon queue retry ID`: every waiting recipient of the message is tried now.</summary>
    public bool Retry(string messageId)
    {
        if (!_messages.TryGetValue(messageId, out var entry))
        {
            return false;
        }

        var now = _time.GetUtcNow();
        foreach (var item in TakeScheduled(entry))
        {
            Post(new WorkItem(entry, item.Route, item.Recipients, now));
        }

        return true;
    }

    /// <summary>`beacon queue bounce ID`: every unfinished recipient bounces (class 25) now, or when its attempt in flight fails.</summary>
    public async Task<bool> BounceAsync(string messageId)
    {
        if (!_messages.TryGetValue(messageId, out var entry))
        {
            return false;
        }

        lock (entry.Gate)
        {
            entry.BounceRequested = true;
        }

        foreach (var item in TakeScheduled(entry))
        {
            await CompleteAsync(item, [.. item.Recipients.Select(AdminBounce)]).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>How long the oldest message the queue holds has been there (zero when empty).</summary>
    public TimeSpan OldestAge()
    {
        var oldest = DateTimeOffset.MaxValue;
        foreach (var entry in _messages.Values)
        {
            if (entry.Message.ReceivedAt < oldest)
            {
                oldest = entry.Message.ReceivedAt;
            }
        }

        return oldest == DateTimeOffset.MaxValue ? TimeSpan.Zero : _time.GetUtcNow() - oldest;
    }

    /// <summary>
    /// Stops taking work, lets deliveries in flight finish for up to delivery.shutdown_timeout, then cuts
    /// them; recipients not finished stay queued in the spool for the next start.
    /// </summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        var running = _destinations.Values.SelectMany(d => d.RunningWorkers).ToArray();
        var all = Task.WhenAll(running);
        if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(_options.ShutdownTimeout), _time)).ConfigureAwait(false) != all)
        {
            _logger.LogWarning("delivery: {Count} connections still busy after {Seconds} s; cutting them, their recipients stay queued", running.Count(t => !t.IsCompleted), _options.ShutdownTimeout);
            await _abort.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5), _time)).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _abort.Dispose();
    }

    internal async Task CompleteAsync(WorkItem item, IReadOnlyList<RecipientOutcome> outcomes)
    {
        var entry = item.Entry;
        var message = entry.Message;
        var now = _time.GetUtcNow();
        var published = new List<BeaconEvent>(outcomes.Count);
        var retries = new List<WorkItem>();
        var bounced = new List<(string Address, RecipientOutcome Outcome)>();
        var notify = _notices?.Applies(message) == true;
        var remove = false;
        lock (entry.Gate)
        {
            foreach (var outcome in outcomes)
            {
                var recipient = message.Recipients[outcome.Index];
                var final = Decide(entry, recipient, outcome, now, out var next);
                message.Recipients[outcome.Index] = final.State switch
                {
                    RecipientState.Queued => recipient with { Attempts = recipient.Attempts + 1, NextAttemptAt = next, LastError = final.Reason },
                    _ => recipient with { State = final.State, NextAttemptAt = null, LastError = final.State == RecipientState.Bounced ? final.Reason : null },
                };
                published.Add(_events.Create(message, recipient, final.Outcome, now));
                _metrics?.Record(final.Outcome);
                if (final.State == RecipientState.Bounced)
                {
                    bounced.Add((recipient.Address, final.Outcome));
                }
            }

            foreach (var group in outcomes.Where(o => message.Recipients[o.Index].State == RecipientState.Queued)
                         .GroupBy(o => message.Recipients[o.Index].NextAttemptAt!.Value))
            {
                retries.Add(new WorkItem(entry, item.Route, [.. group.Select(o => o.Index)], group.Key));
            }

            entry.Outstanding += retries.Count - 1;
            if (entry.Outstanding == 0)
            {
                // The DSN reads the original's headers: the body stays until the report is committed.
                remove = true;
                _messages.TryRemove(message.MessageId, out _);
            }
            else
            {
                Persist(message);
            }
        }

        if (notify && bounced.Count > 0 && await _notices!.CommitAsync(message, bounced).ConfigureAwait(false) is { } dsn)
        {
            await EnqueueAsync(dsn).ConfigureAwait(false);
        }

        if (remove)
        {
            _spool.Remove(message.MessageId);
        }

        foreach (var retry in retries)
        {
            Schedule(retry, now);
        }

        foreach (var happened in published)
        {
            await _events.PublishAsync(happened).ConfigureAwait(false);
        }
    }

    internal void WorkerFailed(Route route, Exception e) =>
        _logger.LogError(e, "delivery: a worker for {Destination} failed; its recipients stay queued and are retried after a restart", route.Key);

    /// <summary>The state an outcome leads to: delivered and bounced are final; a deferral waits for its retry,
    /// unless the message has run out of time or an operator asked for a bounce.</summary>
    private (RecipientState State, RecipientOutcome Outcome, string Reason) Decide(QueuedMessage entry, SpooledRecipient recipient, RecipientOutcome outcome, DateTimeOffset now, out DateTimeOffset? next)
    {
        next = null;
        switch (outcome.Outcome)
        {
            case DeliveryOutcome.Delivered:
                return (RecipientState.Delivered, outcome, outcome.Reason);
            case DeliveryOutcome.Bounced:
                return (RecipientState.Bounced, outcome, outcome.Reason);
        }

        if (entry.BounceRequested || recipient.BounceRequested)
        {
            var admin = outcome with { Outcome = DeliveryOutcome.Bounced, BounceClass = AdminBounceClass, Reply = null, ErrorCode = "554", Reason = $"bounced by an operator; last attempt: {outcome.Reason}" };
            return (RecipientState.Bounced, admin, admin.Reason);
        }

        next = _retry.Next(recipient.Attempts + 1, entry.Message.ReceivedAt, now);
        if (next is null)
        {
            var age = now - entry.Message.ReceivedAt;
            var expired = outcome with
            {
                Outcome = DeliveryOutcome.Bounced,
                BounceClass = TimeoutBounceClass,
                Reply = null,
                ErrorCode = "554",
                Reason = $"message expired after {age.TotalHours:0.#} hours in the queue (delivery.retry.max_age); last error: {outcome.Reason}",
            };
            return (RecipientState.Bounced, expired, expired.Reason);
        }

        return (RecipientState.Queued, outcome, outcome.Reason);
    }

    private void Persist(SpooledMessage message)
    {
        try
        {
            _spool.Update(message);
        }
        catch (IOException e)
        {
            // The states in memory go on; after a crash the older states on disk mean a redelivery, never a loss.
            _logger.LogError(e, "spool: could not update message {Id}", message.MessageId);
        }
    }

    private RecipientOutcome AdminBounce(int index) =>
        new(index, DeliveryOutcome.Bounced, "bounced by an operator (beacon queue bounce)", BounceClass: AdminBounceClass, ErrorCode: "554");

    private void Schedule(WorkItem item, DateTimeOffset now)
    {
        if (item.Due <= now)
        {
            Post(item);
            return;
        }

        lock (_timers)
        {
            var earliest = !_timers.TryPeek(out _, out var first) || item.Due < first;
            _timers.Enqueue(item, item.Due);
            item.Entry.Scheduled.Add(item);
            if (earliest && !_stopping.IsCancellationRequested)
            {
                // A fake clock may run the callback inside Change: the item is already in the queue then.
                var delay = item.Due - _time.GetUtcNow();
                _timer?.Change(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private List<WorkItem> TakeScheduled(QueuedMessage entry)
    {
        lock (_timers)
        {
            var taken = entry.Scheduled.Where(s => !s.Cancelled).ToList();
            foreach (var item in taken)
            {
                item.Cancelled = true;
            }

            entry.Scheduled.Clear();
            return taken;
        }
    }

    private void Post(WorkItem item)
    {
        var destination = _destinations.GetOrAdd(item.Route.Key, _ => new DestinationQueue(item.Route, this, _worker!, _stopping.Token, _abort.Token));
        destination.Post(item);
    }

    /// <summary>The timer's callback: posts what is due and sets the timer for the next item.</summary>
    private void FireDue()
    {
        var due = new List<WorkItem>();
        lock (_timers)
        {
            var now = _time.GetUtcNow();
            while (_timers.TryPeek(out var item, out var at) && at <= now)
            {
                _timers.Dequeue();
                if (!item.Cancelled)
                {
                    item.Entry.Scheduled.Remove(item);
                    due.Add(item);
                }
            }

            if (_timers.TryPeek(out _, out var next) && !_stopping.IsCancellationRequested)
            {
                _timer?.Change(next - now, Timeout.InfiniteTimeSpan);
            }
        }

        foreach (var item in due)
        {
            Post(item);
        }
    }
}
