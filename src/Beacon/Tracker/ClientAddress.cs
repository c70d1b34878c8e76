using System.Net;

namespace Beacon.Tracker;

/// <summary>
/// The address to report as ip_address and to rate-limit by (spec §5 Q22). Forwarding headers are believed only
/// from a configured proxy: anyone else could write any address into them.
/// </summary>
public sealed class ClientAddress(IReadOnlyList<IPNetwork> trustedProxies)
{
    public bool HasTrustedProxies => trustedProxies.Count > 0;

    /// <summary>
    /// The socket peer if it is not a trusted proxy. Otherwise X-Forwarded-For is read from the right (the hop the
    /// proxy added) past every trusted proxy to the first address that is not one; without X-Forwarded-For,
    /// X-Real-IP. A malformed entry stops the walk at the last address known good.
    /// </summary>
    public IPAddress Resolve(IPAddress peer, string? forwardedFor, string? realIp)
    {
        var current = Normalize(peer);
        if (!IsTrusted(current))
        {
            return current;
        }

        if (!string.IsNullOrWhiteSpace(forwardedFor))
        {
            var hops = forwardedFor.AsSpan();
            while (!hops.IsEmpty)
            {
                var comma = hops.LastIndexOf(',');
                var hop = hops[(comma + 1)..].Trim();
                hops = comma < 0 ? [] : hops[..comma];
                if (!TryParseHop(hop, out var address))
                {
                    return current;
                }

                current = address;
                if (!IsTrusted(current))
                {
                    return current;
                }
            }

            return current;
        }

        return realIp is not null && TryParseHop(realIp.AsSpan().Trim(), out var real) ? real : current;
    }

    private bool IsTrusted(IPAddress address)
    {
        foreach (var network in trustedProxies)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An address, "[v6]:port" or "v4:port" (some proxies append the port).</summary>
    private static bool TryParseHop(ReadOnlySpan<char> hop, out IPAddress address)
    {
        if (IPAddress.TryParse(hop, out var parsed) || (IPEndPoint.TryParse(hop, out var endpoint) && (parsed = endpoint.Address) is not null))
        {
            address = Normalize(parsed);
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
