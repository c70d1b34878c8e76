using System.Collections.Concurrent;

namespace Beacon.Queue;

/// <summary>
/// The ready items of one destination and the workers that deliver them. Design note: a worker is one
/// connection's life (Delivery/); it takes items while there are any, waits a little for more (connection reuse),
/// then ends. Workers are started when items wait and fewer than <see cref="Route.MaxConnections"/> run and
/// none is idle, so a quiet destination holds no connection and a busy one opens up to its limit.
/// </summary>
public sealed class DestinationQueue
{
    private readonly ConcurrentQueue<WorkItem> _items = new();
    private readonly SemaphoreSlim _available = new(0);
    private readonly DeliveryQueue _owner;
    private readonly Func<DestinationQueue, CancellationToken, Task> _worker;
    private readonly CancellationToken _stopping;
    private readonly CancellationToken _abort;
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private int _workers;
    private int _waiting;

    internal DestinationQueue(Route route, DeliveryQueue owner, Func<DestinationQueue, CancellationToken, Task> worker, CancellationToken stopping, CancellationToken abort)
    {
        Route = route;
        _owner = owner;
        _worker = worker;
        _stopping = stopping;
        _abort = abort;
    }

    public Route Route { get; }

    /// <summary>Items ready and not yet taken by a worker.</summary>
    public int Ready => _items.Count;

    /// <summary>Workers (connections) running.</summary>
    public int Workers => Volatile.Read(ref _workers);

    internal IEnumerable<Task> RunningWorkers => _running.Keys;

    /// <summary>A moment's copy of the ready items (ConcurrentQueue enumerates a snapshot), for <see cref="QueueSnapshot"/>.</summary>
    internal IEnumerable<WorkItem> ReadyItems => _items.Where(i => !i.Cancelled);

    internal void Post(WorkItem item)
    {
        _items.Enqueue(item);
        _available.Release();
        StartWorkerIfNeeded();
    }

    /// <summary>
    /// The next ready item, waiting up to <paramref name="wait"/> for one; null when none came or the queue
    /// is stopping (a worker then closes its connection and ends).
    /// </summary>
    public async ValueTask<WorkItem?> TakeAsync(TimeSpan wait)
    {
        if (_stopping.IsCancellationRequested)
        {
            return null;
        }

        Interlocked.Increment(ref _waiting);
        try
        {
            if (!await _available.WaitAsync(wait, _stopping).ConfigureAwait(false))
            {
                return null;
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        // The semaphore counts the items, so one is there; Retry may have cancelled it meanwhile.
        _items.TryDequeue(out var item);
        return item is { Cancelled: false } ? item : await TakeAsync(TimeSpan.Zero).ConfigureAwait(false);
    }

    /// <summary>Applies a worker's results: events, recipient states, retries, removal from the spool.</summary>
    public Task CompleteAsync(WorkItem item, IReadOnlyList<RecipientOutcome> outcomes) => _owner.CompleteAsync(item, outcomes);

    private void StartWorkerIfNeeded()
    {
        while (true)
        {
            var workers = Volatile.Read(ref _workers);
            if (_stopping.IsCancellationRequested || workers >= Route.MaxConnections || _items.Count <= Volatile.Read(ref _waiting))
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _workers, workers + 1, workers) == workers)
            {
                break;
            }
        }

        var task = Task.Run(RunWorkerAsync);
        _running.TryAdd(task, 0);
        _ = task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task RunWorkerAsync()
    {
        try
        {
            await _worker(this, _abort).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Shutdown cut the delivery in flight; its recipients are still queued on disk.
        }
        catch (Exception e)
        {
            _owner.WorkerFailed(Route, e);
        }
        finally
        {
            Interlocked.Decrement(ref _workers);
        }

        // An item posted while this worker was ending must not wait for the next post.
        StartWorkerIfNeeded();
    }
}
