using System.Net;

namespace Beacon.Tracker;

/// <summary>What a tracked-link request tells about its client, read once from the HTTP request.</summary>
public sealed record EngagementRequest
{
    /// <summary>The client's address: the socket peer, or what a trusted proxy forwarded (<see cref="ClientAddress"/>).</summary>
    public IPAddress? Address { get; init; }

    public string? UserAgent { get; init; }

    public string? AcceptLanguage { get; init; }

    /// <summary>The client announced a prefetch or preview (<see cref="ClientSignals.IsPrefetch"/>).</summary>
    public bool Prefetch { get; init; }
}
