using System.Text;
using Microsoft.Extensions.Logging;

namespace Beacon.Links;

/// <summary>
/// Turns a payload into the URL that goes into the message: <c>{scheme}://{tracking_domain}/f/[{sublink}/]{token}</c>
/// for clicks, <c>{scheme}://{tracking_domain}/q/{token}</c> for opens (spec §3.5). Rendering calls <see cref="Build"/>
/// once per link per recipient.
/// </summary>
public sealed class LinkBuilder(LinkCodec codec, ILogger<LinkBuilder> logger)
{
    /// <summary>Internet Explorer's limit, above which Momentum warns too (spec §F8.6, MO-3219).</summary>
    public const int WarnLength = 2083;

    /// <summary>
    /// The tracked URL, or null when its token would be longer than the tracker accepts
    /// (<see cref="LinkCodec.MaxTokenChars"/>): the caller then leaves the original link as it is (tracking fails
    /// open). Throws <see cref="ArgumentException"/> for a scheme other than http/https, an empty tracking domain,
    /// a sublink on an open link or a payload no event could come from; <see cref="KeyringException"/> if no key is active.
    /// </summary>
    public string? Build(string scheme, string trackingDomain, string? sublink, TrackedLink link)
    {
        scheme = scheme.ToLowerInvariant(); // MO-4022: schemes are lower-cased
        if (scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"tracking scheme must be http or https, not '{scheme}'", nameof(scheme));
        }

        if (string.IsNullOrWhiteSpace(trackingDomain) || trackingDomain.AsSpan().ContainsAny("/?#@ \t\r\n"))
        {
            throw new ArgumentException($"'{trackingDomain}' is not a host[:port]", nameof(trackingDomain));
        }

        var path = EscapeSublink(sublink);
        if (path.Length > 0 && link.Kind != LinkKind.Click)
        {
            throw new ArgumentException("only click links take a sublink", nameof(sublink));
        }

        var url = new StringBuilder(scheme.Length + trackingDomain.Length + path.Length + 600)
            .Append(scheme).Append("://").Append(trackingDomain)
            .Append(link.Kind == LinkKind.Click ? "/f/" : "/q/");
        if (path.Length > 0)
        {
            url.Append(path).Append('/');
        }

        var token = codec.Seal(link);
        if (token.Length > LinkCodec.MaxTokenChars)
        {
            logger.LogWarning("links: a {Kind} link of message {MessageId} is not tracked: its token would be {Length} characters, over {Limit} (target {Target} bytes, metadata {Metadata} bytes)",
                link.Kind, link.MessageId, token.Length, LinkCodec.MaxTokenChars, link.Target?.Length ?? 0, link.Metadata?.Length ?? 0);
            return null;
        }

        var result = url.Append(token).ToString();
        if (result.Length > WarnLength)
        {
            logger.LogWarning("links: a {Kind} link of message {MessageId} is {Length} bytes, over {Limit}: some clients truncate it (target {Target} bytes, metadata {Metadata} bytes)",
                link.Kind, link.MessageId, result.Length, WarnLength, link.Target?.Length ?? 0, link.Metadata?.Length ?? 0);
        }

        return result;
    }

    /// <summary>Each segment percent-encoded as a path segment; empty, "." and ".." segments dropped.</summary>
    private static string EscapeSublink(string? sublink)
    {
        if (string.IsNullOrWhiteSpace(sublink))
        {
            return string.Empty;
        }

        var segments = sublink.Split('/', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(s => s is not ("." or ".."))
            .Select(Uri.EscapeDataString);
        return string.Join('/', segments);
    }
}
