using Beacon.Smtp;

namespace Beacon.Delivery;

/// <summary>One recipient's block of a delivery status notification (RFC 3464 §2.3).</summary>
/// <param name="Address">The envelope recipient (Final-Recipient).</param>
/// <param name="Status">The RFC 3463 status, "5.1.1"; one that is not well formed becomes 5.0.0 (4.0.0 in a delay report).</param>
/// <param name="Diagnostic">The reply, as "550 5.1.1 …" (Diagnostic-Code), or null.</param>
/// <param name="RemoteMta">The host that gave the reply (Remote-MTA), or null.</param>
internal sealed record DsnRecipient(string Address, string Status, string? Diagnostic = null, string? RemoteMta = null)
{
    /// <summary>"smtp" for a reply from <see cref="RemoteMta"/>; "X-Beacon" for Beacon's own reason (RFC 3464 §2.3.6 allows X- types).</summary>
    public string DiagnosticType { get; init; } = "smtp";

    public DateTimeOffset? LastAttempt { get; init; }

    /// <summary>The recipient a remote server refused.</summary>
    public static DsnRecipient FromReply(string address, SmtpReply reply, string remoteMta) =>
        new(address, reply.Enhanced ?? (reply.IsTransientFailure ? "4.0.0" : "5.0.0"), BounceClassifier.Classify(reply).Reason, remoteMta);

    /// <summary>A recipient Beacon gave up on without a reply (DNS, expiry, an operator): its "[internal]" reason.</summary>
    public static DsnRecipient FromFailure(string address, BounceClassification failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        // "554 5.4.7 [internal] …": the enhanced code is the second word of Beacon's own reason.
        string[] words = failure.Reason.Split(' ', 3);
        return new DsnRecipient(address, words.Length > 1 ? words[1] : "5.0.0", failure.Reason) { DiagnosticType = "X-Beacon" };
    }
}
