namespace Beacon.Links;

/// <summary>
/// Everything a click or open event needs, sealed into the link itself so that the tracker reads no database
/// (ARCHITECTURE.md §1 decision 2). Strings are carried as given; <see cref="Metadata"/> is compact JSON text of an
/// object already trimmed to <c>max_metadata_len</c> by <see cref="MetadataLimit"/>, or null when not included.
/// </summary>
public sealed record TrackedLink
{
    public required LinkKind Kind { get; init; }

    /// <summary>20 lowercase hex characters (spec §5 Q28); carried as 10 bytes.</summary>
    public required string MessageId { get; init; }

    /// <summary>A decimal 64-bit id (spec §F9.6) is carried as a varint; any other text is carried as text.</summary>
    public string? TransmissionId { get; init; }

    public string? CustomerId { get; init; }

    public required string Recipient { get; init; }

    public string? CampaignId { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    public string? Metadata { get; init; }

    /// <summary>The link target; required for <see cref="LinkKind.Click"/>, absent for opens.</summary>
    public string? Target { get; init; }

    /// <summary>From <c>data-msys-linkname</c>, at most 63 bytes (spec §F8.4).</summary>
    public string? LinkName { get; init; }

    /// <summary>From <c>data-msys-unsubscribe="1"</c>: a click also reports <c>link_unsubscribe</c>.</summary>
    public bool Unsubscribe { get; init; }

    /// <summary>Unix seconds after which the link still works but counts nothing (spec §F12.7, §5 Q18).</summary>
    public required long ExpiresAt { get; init; }

    /// <summary>The node that rendered the link.</summary>
    public string? NodeName { get; init; }

    /// <summary>
    /// Unix seconds when delivery rendered this recipient's copy, or null in tokens sealed without it. The tracker
    /// reads it as "delivery time" to tell scanners, which fetch links seconds after delivery, from people.
    /// </summary>
    public long? RenderedAt { get; init; }

    public bool IsExpired(DateTimeOffset now) => now.ToUnixTimeSeconds() >= ExpiresAt;

    /// <summary>Field-by-field, tags by content (a record's generated equality would compare the list by reference).</summary>
    public bool Equals(TrackedLink? other) => other is not null && Kind == other.Kind && MessageId == other.MessageId &&
        TransmissionId == other.TransmissionId && CustomerId == other.CustomerId && Recipient == other.Recipient &&
        CampaignId == other.CampaignId && Tags.SequenceEqual(other.Tags) && Metadata == other.Metadata && Target == other.Target &&
        LinkName == other.LinkName && Unsubscribe == other.Unsubscribe && ExpiresAt == other.ExpiresAt && NodeName == other.NodeName &&
        RenderedAt == other.RenderedAt;

    public override int GetHashCode() => HashCode.Combine(Kind, MessageId, Recipient, Target, ExpiresAt);
}
