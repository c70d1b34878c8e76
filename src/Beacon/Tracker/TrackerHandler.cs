using System.Net;
using Beacon.Events;
using Beacon.Links;
using Microsoft.Extensions.Logging;

namespace Beacon.Tracker;

/// <summary>
/// Answers tracked links (docs/tracking-links.md, "The tracker"): transport-neutral (request in, response out; the
/// HTTP server of <see cref="Http.HttpServer"/> carries it), no routing framework.
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

    /// <summary>The counters this handler adds to; the HTTP layer under it adds its own there too.</summary>
    public TrackerMetrics Metrics => metrics;

    /// <summary>Decides the answer; recording (for GET of a valid link) happens before it returns but cannot change it.</summary>
    public TrackerResponse Handle(in TrackerRequest request)
    {
        var head = request.Method == TrackerMethod.Head;
        if (!head && request.Method != TrackerMethod.Get)
        {
            Count(TrackerRoute.NotFound, TrackerOutcome.MethodNotAllowed);
            return new TrackerResponse(405, "text/plain", []) { Allow = "GET, HEAD" };
        }

        var route = TrackerRoutes.Of(PathOf(request.Target));
        switch (route)
        {
            case TrackerRoute.Robots:
                Count(route, TrackerOutcome.Robots);
                return new TrackerResponse(200, "text/plain", RobotsTxt);
            case TrackerRoute.NotFound:
                Count(route, TrackerOutcome.NotFound);
                return new TrackerResponse(404, "text/plain", NotFoundText);
        }

        // The raw target, not the decoded path: LinkUrl undoes percent-encoding itself (once or several times, spec §F12.6).
        var valid = codec.TryOpenUrl(request.Target, out var opened, out _);
        string? location = null;
        if (valid && route == TrackerRoute.Click && !RedirectTarget.TryGetLocation(opened!.Link.Target!, out location))
        {
            valid = false;
        }

        var outcome = !valid ? TrackerOutcome.Invalid : head ? TrackerOutcome.Head : Record(request, opened!.Link);
        TrackerResponse response;
        if (route == TrackerRoute.Click)
        {
            response = valid
                ? new TrackerResponse(302, "text/plain", []) { Location = location, NoCache = true }
                : new TrackerResponse(404, "text/plain", NotFoundText) { NoCache = true };
        }
        else
        {
            // An open answers the pixel whatever the token: a broken image in the message helps nobody (spec §5 Q18).
            response = new TrackerResponse(200, "image/gif", TransparentGif) { NoCache = true };
        }

        Count(route, outcome);
        return response;
    }

    /// <summary>Never throws: whatever goes wrong here is logged and counted, and the answer is already decided.</summary>
    private TrackerOutcome Record(in TrackerRequest request, TrackedLink link)
    {
        try
        {
            if (link.IsExpired(time.GetUtcNow()))
            {
                return TrackerOutcome.Expired;
            }

            var peer = request.Peer ?? IPAddress.IPv6None;
            var address = addresses.HasTrustedProxies
                ? addresses.Resolve(peer, request.ForwardedFor, request.RealIp)
                : peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer;
            if (!limiter.TryAcquire(address))
            {
                metrics.RateLimited.Add(1);
                return TrackerOutcome.RateLimited;
            }

            var facts = new EngagementRequest
            {
                Address = address,
                UserAgent = NullIfEmpty(request.UserAgent),
                AcceptLanguage = NullIfEmpty(request.AcceptLanguage),
                Prefetch = ClientSignals.IsPrefetch(request.Purpose, request.SecPurpose, request.XMoz, request.XPurpose),
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

    private void Count(TrackerRoute route, TrackerOutcome outcome) =>
        metrics.Requests.Add(1, new KeyValuePair<string, object?>("route", RouteName(route)), new KeyValuePair<string, object?>("outcome", outcome.Name()));

    /// <summary>
    /// The path the route is read from: the target up to its query, percent-decoded only if it holds a '%' (rare:
    /// links are written unescaped), as Kestrel's decoded path was.
    /// </summary>
    private static ReadOnlySpan<char> PathOf(string target)
    {
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? target.AsSpan() : target.AsSpan(0, query);
        return path.Contains('%') ? Uri.UnescapeDataString(path) : path;
    }

    private static string RouteName(TrackerRoute route) => route switch
    {
        TrackerRoute.Click => "click",
        TrackerRoute.Open => "open",
        TrackerRoute.Robots => "robots",
        _ => "other",
    };

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
