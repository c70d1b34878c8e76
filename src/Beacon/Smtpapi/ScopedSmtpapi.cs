using System.Net;
using Beacon.Config;

namespace Beacon.Smtpapi;

/// <summary>A value with the scope it came from, so `beacon config check` can say why it applies.</summary>
public readonly record struct Sourced<T>(T Value, string Scope);

/// <summary>The configuration's smtpapi settings for one client, each resolved through the scope chain.</summary>
public sealed record ConfiguredSmtpapi(
    Sourced<bool> OpenTracking,
    Sourced<bool> ClickTracking,
    Sourced<string> OpenTrackingScheme,
    Sourced<string> ClickTrackingScheme,
    Sourced<string> TrackingDomain,
    Sourced<long> TrackingLinkExpiry,
    Sourced<bool> ClickTrackingIncludeMetadata,
    Sourced<int> MaxMetadataLen,
    Sourced<string?> DefaultCustomerId);

/// <summary>
/// Scope resolution for the smtpapi options (spec §F3.8, §5 Q27): the listener's peer block with the longest
/// matching CIDR, then the listener's block, then the global "smtpapi" block ("engagement_tracker" for the two
/// metadata options), then Momentum's defaults. Each value is resolved on its own.
/// </summary>
public sealed class ScopedSmtpapi
{
    private readonly BeaconOptions _options;

    // Each listener's peer blocks, parsed once and ordered most specific first: resolution runs per message.
    private readonly Dictionary<ListenerOptions, (IPNetwork Network, PeerOptions Peer)[]> _peers = new(ReferenceEqualityComparer.Instance);

    public ScopedSmtpapi(BeaconOptions options)
    {
        _options = options;
        foreach (var listener in options.Smtp.Listeners)
        {
            _peers[listener] = PeersOf(listener);
        }
    }

    public ConfiguredSmtpapi Resolve(ListenerOptions listener, IPAddress peer)
    {
        var scopes = new List<(string Name, SmtpapiScope Scope)>();
        var peers = _peers.TryGetValue(listener, out var known) ? known : PeersOf(listener);
        var match = peers.FirstOrDefault(p => p.Network.Contains(peer));
        if (match.Peer is not null)
        {
            scopes.Add(($"listener '{listener.Name}' peer {match.Peer.Cidr}", match.Peer.Smtpapi));
        }

        scopes.Add(($"listener '{listener.Name}'", listener.Smtpapi));
        scopes.Add(("global smtpapi", _options.Smtpapi));
        var tracker = _options.EngagementTracker;
        return new ConfiguredSmtpapi(
            Pick(scopes, s => s.OpenTrackingEnabled, false),
            Pick(scopes, s => s.ClickTrackingEnabled, false),
            Pick(scopes, s => s.OpenTrackingScheme, "http"),
            Pick(scopes, s => s.ClickTrackingScheme, "http"),
            Pick(scopes, s => s.TrackingDomain, "localhost:8080"),
            Pick(scopes, s => s.TrackingLinkExpiry, 31_536_000L),
            Pick(scopes, s => s.ClickTrackingIncludeMetadata, tracker.ClickTrackingIncludeMetadata, "engagement_tracker"),
            Pick(scopes, s => s.MaxMetadataLen, tracker.MaxMetadataLen, "engagement_tracker"),
            Pick(scopes, s => s.DefaultCustomerId, null));
    }

    private static (IPNetwork Network, PeerOptions Peer)[] PeersOf(ListenerOptions listener) =>
        [.. listener.Peers.Select(p => (Network: IPNetwork.Parse(p.Cidr), Peer: p)).OrderByDescending(p => p.Network.PrefixLength)];

    private static Sourced<T> Pick<T>(List<(string Name, SmtpapiScope Scope)> scopes, Func<SmtpapiScope, T?> read, T fallback, string fallbackName = "default")
        where T : class? => PickCore(scopes, s => read(s), fallback, fallbackName);

    private static Sourced<T> Pick<T>(List<(string Name, SmtpapiScope Scope)> scopes, Func<SmtpapiScope, T?> read, T fallback, string fallbackName = "default")
        where T : struct => PickCore(scopes, s => read(s) is { } v ? v : (object?)null, fallback, fallbackName);

    private static Sourced<T> PickCore<T>(List<(string Name, SmtpapiScope Scope)> scopes, Func<SmtpapiScope, object?> read, T fallback, string fallbackName)
    {
        foreach (var (name, scope) in scopes)
        {
            if (read(scope) is T value)
            {
                return new Sourced<T>(value, name);
            }
        }

        return new Sourced<T>(fallback, fallbackName);
    }
}
