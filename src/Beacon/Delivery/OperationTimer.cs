namespace Beacon.Delivery;

/// <summary>
/// The deadline of each read and write of one public call, linked with the caller's token. One timer is re-armed
/// per I/O and disarmed after it, so nothing races a Task.Delay and nothing is left running when the call ends.
/// </summary>
internal sealed class OperationTimer : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;
    private readonly CancellationToken _caller;

    public OperationTimer(TimeProvider time, CancellationToken caller)
    {
        _caller = caller;
        _timer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(_timer.Token, caller);
    }

    /// <summary>A token that is cancelled after <paramref name="timeout"/> or by the caller.</summary>
    public CancellationToken Arm(TimeSpan timeout)
    {
        _timer.CancelAfter(timeout);
        return _linked.Token;
    }

    /// <summary>Stops the clock between operations, so local work (reading the content) doesn't count.</summary>
    public void Disarm()
    {
        if (!_timer.IsCancellationRequested)
        {
            _timer.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The deadline passed (as opposed to the caller cancelling).</summary>
    public bool TimedOut => _timer.IsCancellationRequested && !_caller.IsCancellationRequested;

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}
