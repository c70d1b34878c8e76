using System.Globalization;
using Beacon.Events;

namespace Beacon.Webhooks;

/// <summary>
/// `beacon webhooks replay NAME --from --to`: sends the webhook's events of a time range again, in store order and
/// in batches of its batch_size, with new batch ids. It reads the store directly and never touches the live cursor,
/// so the running dispatchers go on as before. A failed batch is tried <see cref="Attempts"/> times, then the
/// replay stops and says from which sequence to resume.
/// </summary>
public sealed class WebhookReplay(IEventStore store, WebhookOptions options, HttpClient client, TimeProvider time, TextWriter progress)
{
    public const int Attempts = 3;
    private const int ReadPage = 1000;

    /// <summary>Wait between attempts of a failed batch.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Events of the webhook's types in the range (known once <see cref="RunAsync"/> has looked).</summary>
    public long Matched { get; private set; }

    /// <summary>Batches sent so far.</summary>
    public long Batches { get; private set; }

    /// <summary>Events sent so far (also after a failure: those of the batches that went through).</summary>
    public long Sent { get; private set; }

    /// <summary>Returns the number of events sent; throws <see cref="WebhookReplayException"/> when a batch fails for good.</summary>
    public async Task<long> RunAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellation)
    {
        var name = options.EffectiveName;
        var types = WebhookEvents.Select(options.Events);
        if (types.Count == 0)
        {
            await progress.WriteLineAsync($"replay {name}: the webhook wants no event type Beacon produces").ConfigureAwait(false);
            return 0;
        }

        // The newest event of the range bounds the scan; the count is for the progress lines.
        var newest = await store.SearchAsync(new EventQuery { Types = types, From = from, To = to, PerPage = 1 }, cancellation).ConfigureAwait(false);
        if (newest.Events.Count == 0)
        {
            await progress.WriteLineAsync($"replay {name}: no events between {from:O} and {to:O}").ConfigureAwait(false);
            return 0;
        }

        var last = newest.Events[0].Sequence;
        var total = newest.TotalCount;
        Matched = total;
        await progress.WriteLineAsync($"replay {name}: {total} events between {from:O} and {to:O} to {options.Target}").ConfigureAwait(false);
        var sender = new WebhookSender(options, client, time);
        var batch = new List<StoredEvent>();
        long sent = 0, after = 0, batches = 0;
        while (after < last)
        {
            var page = await store.ReadAfterAsync(after, ReadPage, types, cancellation).ConfigureAwait(false);
            if (page.Count == 0)
            {
                break;
            }

            foreach (var item in page.TakeWhile(e => e.Sequence <= last))
            {
                if (item.Timestamp >= from && item.Timestamp <= to)
                {
                    batch.Add(item);
                }

                if (batch.Count == options.BatchSize)
                {
                    sent += await SendAsync(sender, batch, ++batches, sent, total, cancellation).ConfigureAwait(false);
                    (Sent, Batches) = (sent, batches);
                    batch.Clear();
                }
            }

            after = page[^1].Sequence;
        }

        if (batch.Count > 0)
        {
            sent += await SendAsync(sender, batch, ++batches, sent, total, cancellation).ConfigureAwait(false);
            (Sent, Batches) = (sent, batches);
        }

        await progress.WriteLineAsync($"replay {name}: done, {sent} events in {batches} batches").ConfigureAwait(false);
        return sent;
    }

    private async Task<int> SendAsync(WebhookSender sender, List<StoredEvent> events, long number, long sentBefore, long total, CancellationToken cancellation)
    {
        var batch = new WebhookBatch(Guid.NewGuid(), [.. events], events[^1].Sequence, time.GetUtcNow());
        for (var attempt = 1; ; attempt++)
        {
            var result = await sender.SendAsync(batch, cancellation).ConfigureAwait(false);
            if (result.Success)
            {
                var done = sentBefore + events.Count;
                await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"replay {options.EffectiveName}: batch {number} ({batch.Id}): {events.Count} events, {done}/{total} ({100.0 * done / total:0}%)")).ConfigureAwait(false);
                return events.Count;
            }

            await progress.WriteLineAsync($"replay {options.EffectiveName}: batch {number} attempt {attempt} failed: {result.Error}").ConfigureAwait(false);
            if (attempt == Attempts)
            {
                throw new WebhookReplayException(
                    $"batch {number} failed {Attempts} times ({result.Error}); {sentBefore} events were sent; the rest starts at sequence {events[0].Sequence}");
            }

            await Task.Delay(RetryDelay, time, cancellation).ConfigureAwait(false);
        }
    }
}

public sealed class WebhookReplayException(string message) : Exception(message);
