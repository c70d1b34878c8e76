using Beacon.Smtp;

namespace Beacon.Delivery;

/// <summary>
/// What became of one recipient: exactly one of <see cref="Reply"/> (the peer's word: the MAIL refusal, its own
/// RCPT refusal, or the reply to the content) and <see cref="Failure"/> (the connection failed before the peer
/// answered for this recipient) is set.
/// </summary>
/// <param name="RcptReply">The reply to this recipient's RCPT, when it was sent and answered.</param>
internal sealed record RecipientResult(string Recipient, SmtpReply? RcptReply, SmtpReply? Reply, OutboundFailure? Failure)
{
    /// <summary>The peer took responsibility for the message to this recipient.</summary>
    public bool Delivered => Reply is { Code: >= 200 and < 300 };

    /// <summary>Retrying can't help (a 5xx reply).</summary>
    public bool Permanent => Reply is { Code: >= 500 } || Failure is { Permanent: true };
}
