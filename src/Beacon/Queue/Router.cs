using System.Collections.Concurrent;
using System.Globalization;
using Beacon.Config;

namespace Beacon.Queue;

/// <summary>
/// Maps a recipient domain to its <see cref="Route"/>: the global delivery mode, or the domain's own entry in
/// delivery.domains. Domains are compared in lower case, internationalised names as their A-labels (RFC 5890).
/// </summary>
public sealed class Router
{
    private readonly DeliveryOptions _options;
    private readonly Dictionary<string, DomainRouteOptions> _overrides;
    private readonly ConcurrentDictionary<string, Route> _routes = new(StringComparer.Ordinal);

    public Router(DeliveryOptions options)
    {
        _options = options;
        _overrides = options.Domains.ToDictionary(d => Normalize(d.Domain), StringComparer.Ordinal);
    }

    public Route Resolve(string domain)
    {
        domain = Normalize(domain);
        return _routes.TryGetValue(domain, out var route) ? route : _routes.GetOrAdd(domain, Build(domain));
    }

    /// <summary>The domain part of an address, or empty for an address without one (never accepted by ingress).</summary>
    public static string DomainOf(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 ? string.Empty : address[(at + 1)..];
    }

    private Route Build(string domain)
    {
        _overrides.TryGetValue(domain, out var own);
        var mode = own?.Mode ?? _options.Mode;
        var port = own?.Port ?? _options.Port;
        var tls = Enum.Parse<TlsPolicy>(own?.Tls ?? _options.Tls, ignoreCase: true);
        var connections = own?.MaxConnections ?? _options.MaxConnections;
        switch (mode)
        {
            case "capture":
                return new Route(RouteKind.Capture, "capture", domain, null, port, tls, connections);
            case "smarthost":
                NextHop.TryParse(own?.Smarthost ?? _options.Smarthost, out var hop);

                // A domain with its own limit gets its own queue to the relay; the others share one.
                var key = own?.MaxConnections is null ? $"smarthost {hop}" : $"smarthost {hop} {domain}";
                return new Route(RouteKind.Smarthost, key, domain, hop, hop!.Port, tls, connections);
            default:
                return new Route(RouteKind.Mx, domain, domain, null, port, tls, connections);
        }
    }

    private static string Normalize(string domain)
    {
        domain = domain.Trim().TrimEnd('.').ToLowerInvariant();
        if (domain.StartsWith('[') || domain.All(char.IsAscii))
        {
            return domain;
        }

        try
        {
            return new IdnMapping().GetAscii(domain);
        }
        catch (ArgumentException)
        {
            return domain; // not a valid IDN: the MX lookup fails and says so
        }
    }
}
