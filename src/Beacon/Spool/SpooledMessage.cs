using System.Text.Json;
using System.Text.Json.Serialization;

namespace Beacon.Spool;

/// <summary>
/// A message's metadata: in its spool log record beside the body, later in meta/{id}.json, so that changing a
/// recipient's state rewrites a few hundred bytes, never the body. Later stages add their resolved settings here.
/// </summary>
public sealed record SpooledMessage
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string MessageId { get; init; }

    public required string TransmissionId { get; init; }

    public required DateTimeOffset ReceivedAt { get; init; }

    /// <summary>The reverse-path without brackets; empty for the null path.</summary>
    public required string MailFrom { get; init; }

    public bool SmtpUtf8 { get; init; }

    public bool EightBitMime { get; init; }

    /// <summary>Octets of the body, Received header included.</summary>
    public long Size { get; init; }

    public required string Listener { get; init; }

    public required string RemoteIp { get; init; }

    public string? Helo { get; init; }

    public string? AuthUser { get; init; }

    /// <summary>The decoded Subject and the first From address, for the events of later stages.</summary>
    public string? Subject { get; init; }

    public string? FriendlyFrom { get; init; }

    /// <summary>Momentum-style context variables (mo_customer_id, and the smtpapi_* ones of the policy stage).</summary>
    public Dictionary<string, string> Context { get; init; } = [];

    public required List<SpooledRecipient> Recipients { get; init; }

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}

public sealed record SpooledRecipient
{
    /// <summary>The forward-path exactly as the client gave it.</summary>
    public required string Address { get; init; }

    public RecipientState State { get; init; } = RecipientState.Queued;

    /// <summary>Delivery attempts that failed temporarily so far (num_retries of the events).</summary>
    public int Attempts { get; init; }

    /// <summary>When the next attempt is due after a temporary failure; null means now.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>Why the last attempt failed (the peer's reply or the connection problem), for `beacon queue show`.</summary>
    public string? LastError { get; init; }

    /// <summary>`beacon queue bounce` asked, while Beacon was stopped, to bounce this recipient at the next start.</summary>
    public bool BounceRequested { get; init; }

    /// <summary>Engagement settings resolved at ingress (smtpapi stage).</summary>
    public Smtpapi.TrackingSettings? Tracking { get; init; }
}

public enum RecipientState
{
    Queued,
    Delivered,
    Bounced,
}
