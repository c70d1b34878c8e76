using System.Globalization;
using System.Text;
using Beacon.Api;
using Beacon.Events;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Beacon.Dashboard;

/// <summary>
/// GET /api/v1/events/stream: the live event stream as server-sent events, one frame per event,
/// <c>id: {sequence}</c> and <c>data: {Momentum JSON}</c>. Filters are the Message Events API's (events,
/// campaigns, recipients, message_ids, transmission_ids). It starts at the store's current end, or after the
/// sequence in Last-Event-ID (what EventSource sends when it reconnects) or <c>after</c>, or <c>backlog</c>
/// matching events back. Design note: it tails the store by sequence (ARCHITECTURE §5.9) instead of hooking
/// the in-process pipeline, so on a PostgreSQL fleet every node's events reach every dashboard, and a slow
/// browser holds only its own cursor. Each stream polls every <see cref="PollInterval"/>; at most
/// <see cref="MaxStreams"/> run at once (more get 503), so an open tab costs the store a few small reads a
/// second and a forgotten pile of tabs cannot grow without bound.
/// </summary>
internal sealed class EventStream(IEventStore store, TimeProvider time, CancellationToken stopping, ILogger logger)
{
    public const string Path = "/api/v1/events/stream";

    public const int MaxStreams = 32;

    /// <summary>Events read per store query; a stream far behind catches up in reads of this size.</summary>
    public const int BatchSize = 500;

    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(300);

    /// <summary>A comment line this often keeps proxies and browsers from closing an idle stream.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    private int _open;

    public async Task HandleAsync(HttpContext context)
    {
        EventQuery filter;
        long? resume;
        int backlog;
        try
        {
            // The Message Events API's parser, so both endpoints accept the same filters with the same errors.
            filter = MessageEventsApi.Parse(context.Request.Query, time.GetUtcNow()) with { From = null, To = null, BeforeSequence = null };
            resume = Resume(context.Request);
            backlog = ApiQuery.Integer(context.Request.Query, "backlog", 0, 0, 1000);
        }
        catch (ApiParameterException e)
        {
            await ApiErrors.InvalidAsync(context, e.Message).ConfigureAwait(false);
            return;
        }

        if (Interlocked.Increment(ref _open) > MaxStreams)
        {
            Interlocked.Decrement(ref _open);
            context.Response.Headers.RetryAfter = "10";
            await ApiErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Too many event streams",
                $"at most {MaxStreams} event streams may be open at once; close another dashboard tab", "1000").ConfigureAwait(false);
            return;
        }

        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            var start = resume ?? await StartAsync(filter, backlog, ended.Token).ConfigureAwait(false);
            await TailAsync(context.Response, filter, start, ended.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested)
        {
            // The browser went away or the server is stopping: the stream simply ends.
        }
        catch (IOException e) when (context.RequestAborted.IsCancellationRequested)
        {
            logger.LogDebug(e, "events stream: client gone");
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>Last-Event-ID (set by EventSource on reconnect) wins over the <c>after</c> parameter.</summary>
    private static long? Resume(HttpRequest request)
    {
        var header = request.Headers["Last-Event-ID"].ToString();
        var text = header.Length > 0 ? header : ApiQuery.Single(request.Query, "after");
        if (text is null)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            ? sequence
            : throw new ApiParameterException($"'Last-Event-ID' and 'after' must be an event sequence (an id from this stream), not '{text}'");
    }

    /// <summary>The sequence to read after: just before the <paramref name="backlog"/> newest matching events, or
    /// the newest event of all.</summary>
    private async Task<long> StartAsync(EventQuery filter, int backlog, CancellationToken cancellation)
    {
        if (backlog > 0)
        {
            var recent = await store.SearchAsync(filter with { PerPage = backlog }, cancellation).ConfigureAwait(false);
            if (recent.Events.Count > 0)
            {
                return recent.Events[^1].Sequence - 1;
            }
        }

        return await store.LatestSequenceAsync(cancellation).ConfigureAwait(false);
    }

    private async Task TailAsync(HttpResponse response, EventQuery filter, long cursor, CancellationToken cancellation)
    {
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-store";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx in front must not hold frames back
        await WriteAsync(response, "retry: 2000\n: beacon event stream\n\n", cancellation).ConfigureAwait(false);
        var quietSince = time.GetTimestamp();
        while (true)
        {
            var batch = await store.ReadAfterAsync(cursor, BatchSize, filter.Types, cancellation).ConfigureAwait(false);
            var frames = new StringBuilder();
            foreach (var item in batch)
            {
                cursor = item.Sequence;
                if (Matches(filter, item))
                {
                    AppendFrame(frames, item);
                }
            }

            if (frames.Length > 0)
            {
                await WriteAsync(response, frames.ToString(), cancellation).ConfigureAwait(false);
                quietSince = time.GetTimestamp();
            }
            else if (time.GetElapsedTime(quietSince) >= HeartbeatInterval)
            {
                await WriteAsync(response, ": heartbeat\n\n", cancellation).ConfigureAwait(false);
                quietSince = time.GetTimestamp();
            }

            if (batch.Count < BatchSize)
            {
                await Task.Delay(PollInterval, time, cancellation).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The filters the store's ReadAfterAsync cannot apply (it filters by type only).</summary>
    internal static bool Matches(EventQuery filter, StoredEvent item) =>
        In(filter.Campaigns, item.CampaignId, StringComparison.Ordinal)
        && In(filter.MessageIds, item.MessageId, StringComparison.Ordinal)
        && In(filter.TransmissionIds, item.TransmissionId, StringComparison.Ordinal)
        && In(filter.Recipients, item.Recipient, StringComparison.OrdinalIgnoreCase);

    private static bool In(IReadOnlyList<string>? wanted, string? value, StringComparison comparison) =>
        wanted is not { Count: > 0 } || (value is not null && wanted.Any(w => string.Equals(w, value, comparison)));

    /// <summary>One frame; a JSON text with line breaks (there are none in stored events) would take one data line each.</summary>
    internal static void AppendFrame(StringBuilder frames, StoredEvent item)
    {
        frames.Append("id: ").Append(item.Sequence.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var line in item.Json.Split('\n'))
        {
            frames.Append("data: ").Append(line.TrimEnd('\r')).Append('\n');
        }

        frames.Append('\n');
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellation)
    {
        await response.WriteAsync(text, Encoding.UTF8, cancellation).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellation).ConfigureAwait(false);
    }
}
