using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Beacon.Events;

/// <summary>
/// The one way events leave a stage. Producers hand events over without waiting for the disk; one writer task
/// appends them, in order, as JSON lines to data_dir/events/events.jsonl and flushes each batch. The event store
/// of a later stage replaces the file writer; producers don't change. The composition root disposes the pipeline
/// only after every producer (the SMTP listeners) has stopped, so nothing published is lost on shutdown.
/// </summary>
public sealed class EventPipeline : IAsyncDisposable
{
    private readonly Channel<BeaconEvent> _channel = Channel.CreateBounded<BeaconEvent>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly ILogger<EventPipeline> _logger;
    private readonly Task _writer;

    public EventPipeline(string dataDir, ILogger<EventPipeline> logger)
    {
        var directory = Path.Combine(Path.GetFullPath(dataDir), "events");
        Directory.CreateDirectory(directory);
        FilePath = Path.Combine(directory, "events.jsonl");
        _logger = logger;
        _writer = Task.Run(WriteAsync);
    }

    public string FilePath { get; }

    /// <summary>Queues an event. Waits only when 100,000 events are already waiting for the disk.</summary>
    public ValueTask PublishAsync(BeaconEvent item) => _channel.Writer.WriteAsync(item);

    /// <summary>
    /// Queues an event without ever waiting: false when 100,000 events are already waiting (or the pipeline is
    /// closed). For producers that must answer at once whatever happens to the event, such as the tracker.
    /// </summary>
    public bool TryPublish(BeaconEvent item) => _channel.Writer.TryWrite(item);

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private async Task WriteAsync()
    {
        await using var file = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 64 * 1024);
        await using var writer = new StreamWriter(file, new UTF8Encoding(false));
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            try
            {
                while (reader.TryRead(out var item))
                {
                    await writer.WriteLineAsync(item.ToJson()).ConfigureAwait(false);
                }

                await writer.FlushAsync().ConfigureAwait(false);
            }
            catch (IOException e)
            {
                _logger.LogError(e, "events: could not write to {Path}", FilePath);
            }
        }
    }
}
