using System.Net;

namespace Beacon.Tracker;

/// <summary>The methods the tracker tells apart: everything that is neither GET nor HEAD gets 405.</summary>
public enum TrackerMethod
{
    Get,
    Head,
    Other,
}

/// <summary>
/// One request as the tracker sees it, whatever carried it: the method, the raw target and the few header values
/// <see cref="TrackerHandler"/> reads. A header that was not sent is null. Filled by the HTTP parser
/// (<see cref="Http.HttpRequestParser"/>), which skips every other header without allocating.
/// </summary>
public struct TrackerRequest
{
    public TrackerMethod Method { get; set; }

    /// <summary>
    /// The request target as received (percent-encoding untouched), origin-form: path and query. An absolute-form
    /// target has its scheme and authority removed already.
    /// </summary>
    public string Target { get; set; }

    /// <summary>The socket's peer (before trusted_proxies are applied).</summary>
    public IPAddress Peer { get; set; }

    public string? UserAgent { get; set; }

    public string? AcceptLanguage { get; set; }

    public string? ForwardedFor { get; set; }

    public string? RealIp { get; set; }

    public string? Purpose { get; set; }

    public string? SecPurpose { get; set; }

    public string? XMoz { get; set; }

    public string? XPurpose { get; set; }
}
