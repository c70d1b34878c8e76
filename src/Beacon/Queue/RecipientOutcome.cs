using System.Text.Json.Nodes;
using Beacon.Smtp;

namespace Beacon.Queue;

/// <summary>The closed set of results of one delivery attempt for one recipient.</summary>
public enum DeliveryOutcome
{
    /// <summary>The next hop took it (2xx), or capture stored it.</summary>
    Delivered,

    /// <summary>Try again later: 4xx, no connection, DNS trouble, TLS required but not offered.</summary>
    Deferred,

    /// <summary>Never: 5xx, no such domain, null MX.</summary>
    Bounced,
}

/// <summary>
/// What happened to one recipient of a <see cref="WorkItem"/>. <paramref name="Reason"/> is the peer's reply
/// or a description of the failure; <paramref name="ErrorCode"/> the SMTP code that stands for a failure
/// without a reply (SparkPost's error_code); <paramref name="Fields"/> are extra event fields from the stage that
/// produced the copy (tracking facts, DKIM).
/// </summary>
public sealed record RecipientOutcome(
    int Index,
    DeliveryOutcome Outcome,
    string Reason,
    SmtpReply? Reply = null,
    int? BounceClass = null,
    string? RemoteIp = null,
    string? RemoteHost = null,
    string DeliveryMethod = "esmtp",
    string? ErrorCode = null,
    IReadOnlyDictionary<string, JsonNode?>? Fields = null);
