namespace Beacon.Delivery;

/// <summary>What a delivery status notification reports: one message, the recipients it failed (or is late) for.</summary>
internal sealed record DsnReport
{
    /// <summary>This node's host name: Reporting-MTA and the MAILER-DAEMON address.</summary>
    public required string ReportingMta { get; init; }

    /// <summary>Beacon's id of the original message (X-Beacon-Message-ID, and the text part).</summary>
    public required string MessageId { get; init; }

    /// <summary>The original MAIL FROM, to whom the report goes. Never empty: a null sender gets no DSN (RFC 3464 §2.3.3 intent, RFC 5321 §4.5.5).</summary>
    public required string EnvelopeSender { get; init; }

    public required DateTimeOffset ArrivalDate { get; init; }

    public required IReadOnlyList<DsnRecipient> Recipients { get; init; }

    /// <summary>A delay report (Action: delayed, "Delayed Mail" subject) rather than a failure report.</summary>
    public bool Delayed { get; init; }
}
