using Beacon.Smtp;

namespace Beacon.Delivery;

/// <summary>The outcome of one mail transaction, per recipient in the order of the envelope.</summary>
/// <param name="MailReply">The reply to MAIL; null when MAIL was never sent (SMTPUTF8 or 8BITMIME missing).</param>
/// <param name="DataReply">The reply to DATA when it wasn't 354, otherwise the reply after the content; null
/// when DATA was not sent or not answered.</param>
/// <param name="Failure">Set when the connection failed during the transaction; it is then unusable.</param>
internal sealed record TransactionResult(SmtpReply? MailReply, IReadOnlyList<RecipientResult> Recipients, SmtpReply? DataReply, OutboundFailure? Failure);
