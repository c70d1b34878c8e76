namespace Beacon.Spool;

/// <summary>
/// Group commit for directory entries. Making a rename durable needs fsync(2) on the directory, and one fsync
/// covers every rename that came before it. Callers that arrive while a sync runs can't know whether their
/// rename preceded it, so they share the next one: under load, twenty sessions pay for one or two directory
/// fsyncs instead of twenty. See docs/performance.md for the measurement behind this.
/// </summary>
internal sealed class DirectorySync(string path)
{
    private readonly Lock _lock = new();
    private bool _syncing;
    private TaskCompletionSource? _next;

    public Task SyncAsync()
    {
        lock (_lock)
        {
            if (_syncing)
            {
                _next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return _next.Task;
            }

            _syncing = true;
        }

        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Factory.StartNew(() => Run(first), TaskCreationOptions.LongRunning);
        return first.Task;
    }

    private void Run(TaskCompletionSource round)
    {
        while (true)
        {
            try
            {
                DurableFile.SyncDirectory(path);
                round.SetResult();
            }
            catch (IOException e)
            {
                round.SetException(e);
            }

            lock (_lock)
            {
                if (_next is null)
                {
                    _syncing = false;
                    return;
                }

                round = _next;
                _next = null;
            }
        }
    }
}
