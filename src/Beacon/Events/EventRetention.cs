using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Beacon.Events;

/// <summary>
/// Removes events older than events.retention_days: once at start, then every hour. A failure is logged and
/// tried again at the next hour; the store is never left half-purged in a way readers could see, since each
/// slice is its own transaction of whole events.
/// </summary>
public sealed class EventRetention(IEventStore store, int retentionDays, TimeProvider time, ILogger<EventRetention> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>One purge; returns how many events it removed.</summary>
    public async Task<long> PurgeOnceAsync(CancellationToken cancellation)
    {
        var before = time.GetUtcNow() - TimeSpan.FromDays(retentionDays);
        var removed = await store.PurgeAsync(before, cancellation).ConfigureAwait(false);
        if (removed > 0)
        {
            logger.LogInformation("events: purged {Count} events older than {Before:O}", removed, before);
        }

        return removed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await PurgeOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "events: purge failed; trying again in {Interval}", Interval);
            }
        }
        while (await SafeTickAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> SafeTickAsync(PeriodicTimer timer, CancellationToken cancellation)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
