using System.Text.Json.Nodes;

namespace Beacon.Smtpapi;

/// <summary>
/// One recipient's engagement settings, resolved once at ingress and stored with the message (ARCHITECTURE
/// decision 1): later stages render and build links from these, whatever the configuration says by then.
/// </summary>
public sealed record TrackingSettings
{
    public bool OpenTracking { get; init; }

    public bool ClickTracking { get; init; }

    public string OpenTrackingScheme { get; init; } = "http";

    public string ClickTrackingScheme { get; init; } = "http";

    public string TrackingDomain { get; init; } = "localhost:8080";

    public long TrackingLinkExpiry { get; init; } = 31_536_000;

    public string? CampaignId { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The whole metadata object (message events); links and engagement events take at most
    /// <see cref="MaxMetadataLen"/> bytes of it.</summary>
    public JsonObject? Metadata { get; init; }

    public string? CustomerId { get; init; }

    public bool ClickTrackingIncludeMetadata { get; init; } = true;

    public int MaxMetadataLen { get; init; } = 1000;

    public bool? Transactional { get; init; }
}
