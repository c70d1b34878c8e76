using System.Buffers;
using System.Net;

namespace Beacon.Tracker;

/// <summary>
/// What request headers and addresses reveal about the client. The lists are heuristics from public
/// observations, neither complete nor permanent (docs/events.md, "Limits"); they label events, they never drop one.
/// </summary>
public static class ClientSignals
{
    /// <summary>Gmail ("…(via ggpht.com GoogleImageProxy)"), Yahoo and Outlook.com image proxies name themselves.</summary>
    private static readonly SearchValues<string> ProxyAgents = SearchValues.Create(
        ["GoogleImageProxy", "ggpht.com", "YahooMailProxy", "Yahoo Mail Proxy", "OutlookImageProxy", "Outlook-Image-Proxy"],
        StringComparison.OrdinalIgnoreCase);

    /// <summary>Link scanners (mail security gateways), HTTP libraries, crawlers and headless browsers.</summary>
    private static readonly SearchValues<string> ScannerAgents = SearchValues.Create(
        [
            "bot/", "bot;", "bot)", "crawler", "spider", "curl/", "wget/", "python-requests", "python-urllib", "aiohttp",
            "go-http-client", "java/", "okhttp", "libwww", "httpclient", "headlesschrome", "phantomjs", "scanner",
            "barracuda", "mimecast", "proofpoint", "urldefense", "safelinks", "symantec", "trendmicro", "fortinet",
            "fortiguard", "sophos", "zscaler", "forcepoint", "cisco", "ironport", "checkpoint", "virustotal",
        ],
        StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Apple owns 17.0.0.0/8, where Mail Privacy Protection fetches from (with the bare agent "Mozilla/5.0");
    /// Google's image proxy fetches from 66.102.0.0/20 and 66.249.64.0/19.
    /// </summary>
    private static readonly IPNetwork[] ProxyNetworks =
        [IPNetwork.Parse("17.0.0.0/8"), IPNetwork.Parse("66.102.0.0/20"), IPNetwork.Parse("66.249.64.0/19")];

    /// <summary>
    /// Purpose: prefetch (Safari, old Chrome), Sec-Purpose: prefetch[;prerender] (Chrome), X-Moz: prefetch (Firefox),
    /// X-Purpose: preview (link previews).
    /// </summary>
    public static bool IsPrefetch(string? purpose, string? secPurpose, string? xMoz, string? xPurpose) =>
        Contains(purpose, "prefetch") || Contains(secPurpose, "prefetch") || Contains(xMoz, "prefetch") ||
        Contains(xPurpose, "prefetch") || Contains(xPurpose, "preview");

    /// <summary>A proxy's own agent, or exactly "Mozilla/5.0": Apple Mail Privacy Protection's (no browser sends only that).</summary>
    public static bool IsProxyAgent(string? userAgent) => userAgent is not null &&
        (userAgent == "Mozilla/5.0" || userAgent.AsSpan().ContainsAny(ProxyAgents));

    public static bool IsScannerAgent(string? userAgent) => userAgent is not null && userAgent.AsSpan().ContainsAny(ScannerAgents);

    /// <summary>Browsers and mail clients send "Mozilla/…"; Outlook desktop and Thunderbird name themselves.</summary>
    public static bool IsBrowserAgent(string? userAgent) => userAgent is not null &&
        (userAgent.StartsWith("Mozilla/", StringComparison.Ordinal) || userAgent.Contains("Outlook", StringComparison.OrdinalIgnoreCase) ||
         userAgent.Contains("Thunderbird", StringComparison.OrdinalIgnoreCase));

    public static bool IsProxyAddress(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in ProxyNetworks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(string? value, string word) => value is not null && value.Contains(word, StringComparison.OrdinalIgnoreCase);
}
