using System.Net;
using Beacon.Events;
using Beacon.Links;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Beacon.Tracker;

/// <summary>
/// Answers tracked links (docs/tracking-links.md, "The tracker"): a plain request delegate, no routing framework.
/// The answer depends on the token alone; recording comes after it is decided and can neither delay nor fail it:
/// events go to <see cref="EventPipeline.TryPublish"/>, which never waits, and a full pipeline costs a counted drop.
/// </summary>
public sealed class TrackerHandler(
    LinkCodec codec, EngagementClassifier classifier, EngagementEvents events, EventPipeline pipeline, ClientRateLimiter limiter,
    ClientAddress addresses, TrackerMetrics metrics, TimeProvider time, ILogger<TrackerHandler> logger)
{
    /// <summary>A 1×1 transparent GIF (42 bytes).</summary>
    public static readonly byte[] TransparentGif =
    [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x21, 0xF9,
        0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x01, 0x44, 0x00, 0x3B,
    ];

    public static readonly byte[] RobotsTxt = "User-agent: *\nDisallow: /\n"u8.ToArray();

    private static readonly byte[] NotFoundText = "Not Found\n"u8.ToArray();

    /// <summary>Drops and failures are logged at most this often, with the count since the last line.</summary>
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private long _dropped;
    private long _lastDropLog = long.MinValue;

    public Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var head = HttpMethods.IsHead(request.Method);
        if (!head && !HttpMethods.IsGet(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return Count(TrackerRoute.NotFound, TrackerOutcome.MethodNotAllowed, WriteAsync(response, "text/plain", [], head));
        }

        var route = TrackerRoutes.Of(request.Path.Value);
        switch (route)
        {
            case TrackerRoute.Robots:
                response.StatusCode = StatusCodes.Status200OK;
                return Count(route, TrackerOutcome.Robots, WriteAsync(response, "text/plain", RobotsTxt, head));
            case TrackerRoute.NotFound:
                response.StatusCode = StatusCodes.Status404NotFound;
                return Count(route, TrackerOutcome.NotFound, WriteAsync(response, "text/plain", NotFoundText, head));
        }

        // The raw target, not the decoded path: LinkUrl undoes percent-encoding itself (once or several times, spec §F12.6).
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value;
        var valid = codec.TryOpenUrl(target, out var opened, out _);
        string? location = null;
        if (valid && route == TrackerRoute.Click && !RedirectTarget.TryGetLocation(opened!.Link.Target!, out location))
        {
            valid = false;
        }

        NoCache(response.Headers);
        var outcome = !valid ? TrackerOutcome.Invalid : head ? TrackerOutcome.Head : Record(context, opened!.Link);
        Task write;
        if (route == TrackerRoute.Click)
        {
            if (valid)
            {
                response.StatusCode = StatusCodes.Status302Found;
                response.Headers.Location = location;
                write = WriteAsync(response, "text/plain", [], head);
            }
            else
            {
                response.StatusCode = StatusCodes.Status404NotFound;
                write = WriteAsync(response, "text/plain", NotFoundText, head);
            }
        }
        else
        {
            // An open answers the pixel whatever the token: a broken image in the message helps nobody (spec §5 Q18).
            response.StatusCode = StatusCodes.Status200OK;
            write = WriteAsync(response, "image/gif", TransparentGif, head);
        }

        return Count(route, outcome, write);
    }

    /// <summary>Never throws: whatever goes wrong here is logged and counted, and the answer is already decided.</summary>
    private TrackerOutcome Record(HttpContext context, TrackedLink link)
    {
        try
        {
            if (link.IsExpired(time.GetUtcNow()))
            {
                return TrackerOutcome.Expired;
            }

            var request = context.Request;
            var peer = context.Connection.RemoteIpAddress ?? IPAddress.IPv6None;
            var headers = request.Headers;
            var address = addresses.HasTrustedProxies
                ? addresses.Resolve(peer, headers["X-Forwarded-For"].ToString(), headers["X-Real-IP"].ToString())
                : peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
            if (!limiter.TryAcquire(address))
            {
                metrics.RateLimited.Add(1);
                return TrackerOutcome.RateLimited;
            }

            var facts = new EngagementRequest
            {
                Address = address,
                UserAgent = NullIfEmpty(headers.UserAgent.ToString()),
                AcceptLanguage = NullIfEmpty(headers.AcceptLanguage.ToString()),
                Prefetch = ClientSignals.IsPrefetch(headers["Purpose"].ToString(), headers["Sec-Purpose"].ToString(), headers["X-Moz"].ToString(), headers["X-Purpose"].ToString()),
            };
            var verdict = classifier.Classify(link, link.Recipient.ToLowerInvariant(), facts);
            foreach (var item in events.Build(link, facts, verdict))
            {
                if (!pipeline.TryPublish(item))
                {
                    Dropped();
                }
            }

            return TrackerOutcome.Recorded;
        }
        catch (Exception e)
        {
            logger.LogError(e, "tracker: recording a {Kind} of message {MessageId} failed; the client was answered", link.Kind, link.MessageId);
            metrics.EventsDropped.Add(1);
            return TrackerOutcome.Recorded;
        }
    }

    private void Dropped()
    {
        metrics.EventsDropped.Add(1);
        var dropped = Interlocked.Increment(ref _dropped);
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastDropLog);
        if ((last == long.MinValue || time.GetElapsedTime(last, now) >= LogInterval) && Interlocked.CompareExchange(ref _lastDropLog, now, last) == last)
        {
            logger.LogWarning("tracker: the event pipeline is full; {Count} engagement events dropped so far (metric beacon.tracker.events_dropped)", dropped);
        }
    }

    private Task Count(TrackerRoute route, TrackerOutcome outcome, Task write)
    {
        metrics.Requests.Add(1, new KeyValuePair<string, object?>("route", RouteName(route)), new KeyValuePair<string, object?>("outcome", outcome.Name()));
        return write;
    }

    private static string RouteName(TrackerRoute route) => route switch
    {
        TrackerRoute.Click => "click",
        TrackerRoute.Open => "open",
        TrackerRoute.Robots => "robots",
        _ => "other",
    };

    /// <summary>Spec §5 Q23; also keeps the links out of search indexes (spec §F12.3).</summary>
    private static void NoCache(IHeaderDictionary headers)
    {
        headers.CacheControl = "no-cache, no-store, must-revalidate";
        headers.Pragma = "no-cache";
        headers.Expires = "0";
        headers["X-Robots-Tag"] = "noindex";
    }

    private static Task WriteAsync(HttpResponse response, string contentType, byte[] body, bool head)
    {
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return head || body.Length == 0 ? Task.CompletedTask : response.Body.WriteAsync(body, 0, body.Length);
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
