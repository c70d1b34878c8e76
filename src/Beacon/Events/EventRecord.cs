namespace Beacon.Events;

/// <summary>
/// An event as the journal keeps it and the stores index it: the columns that queries and metrics filter on,
/// and the Momentum JSON, serialized once. Built from a <see cref="BeaconEvent"/> by the pipeline's journal
/// writer, off the producer's thread.
/// </summary>
public sealed record EventRecord(
    EventType Type,
    DateTimeOffset Timestamp,
    string? MessageId,
    string? TransmissionId,
    string? CampaignId,
    string? Recipient,
    string? LinkName,
    string? LinkUrl,
    string? Classification,
    string Json)
{
    /// <summary>The recipient's domain in lower case, the metrics' /domain grouping.</summary>
    public string? Domain
    {
        get
        {
            var at = Recipient?.LastIndexOf('@') ?? -1;
            return at >= 0 ? Recipient![(at + 1)..].ToLowerInvariant() : null;
        }
    }
}
