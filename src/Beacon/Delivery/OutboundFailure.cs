using Beacon.Smtp;

namespace Beacon.Delivery;

/// <summary>
/// A connection or transaction outcome that is not a reply to a recipient: a closed set of kinds, the peer's
/// reply when it gave one, and whether retrying can help.
/// </summary>
/// <param name="Reply">The peer's reply that caused the failure, when there was one.</param>
/// <param name="Permanent">True only when the peer said so with a 5xx; everything local or network-related is
/// worth retrying, including auth and TLS failures (Postfix's soft-bounce view: a misconfiguration here is not
/// the recipient's fault).</param>
internal sealed record OutboundFailure(OutboundFailureKind Kind, SmtpReply? Reply, bool Permanent, string Detail)
{
    public static OutboundFailure Of(OutboundFailureKind kind, string detail) => new(kind, null, false, detail);

    /// <summary>A failure caused by a reply; permanent when the reply is 5xx.</summary>
    public static OutboundFailure Of(OutboundFailureKind kind, SmtpReply reply, string detail) => new(kind, reply, reply.Code >= 500, detail);

    public override string ToString() => Reply is null ? $"{Kind}: {Detail}" : $"{Kind}: {Detail}: {Reply}";
}
