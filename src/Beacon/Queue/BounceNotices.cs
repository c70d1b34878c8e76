using Beacon.Config;
using Beacon.Delivery;
using Beacon.Spool;
using Microsoft.Extensions.Logging;

namespace Beacon.Queue;

/// <summary>
/// delivery.dsn: when recipients bounce, the original sender gets an RFC 3464 report (<see cref="DsnWriter"/>), one
/// per completed work item covering its bounced recipients. The report is a new message injected by Beacon itself:
/// committed to the spool with the null reverse-path and enqueued like any other, so it is retried, routed, signed
/// and evented by the same code. It lives beside the queue, not in Delivery/, because only the queue knows when a
/// recipient is final (after retries, expiry, an operator's bounce), and because it feeds the queue: Delivery/ only
/// turns work items into outcomes and never creates messages.
/// <para>
/// Decisions: no DSN for a null-sender message (a DSN that bounces must not make another: RFC 5321 §4.5.5); no
/// Received header (Beacon originates this message rather than receiving it, RFC 5321 §4.4); no injection event
/// (Momentum publishes none for its own bounces; the report's own delivery or bounce events, with an empty msg_from,
/// say what became of it); no tracking.
/// </para>
/// <para>
/// Crash safety: the caller writes the recipients' final states before calling. When those were the message's last
/// outcomes, its spool entry is removed only after the report is committed, so a crash in between bounces and
/// notifies again (a duplicate, never a loss). When other recipients are still queued, a crash in the short window
/// between the state write and the report's commit loses that report.
/// </para>
/// </summary>
public sealed class BounceNotices(DeliveryOptions options, SpoolStore spool, MessageIdGenerator ids, TimeProvider time, ILogger<BounceNotices> logger)
{
    /// <summary>Listener name stored with the reports Beacon makes (the spool requires one; no listener received them).</summary>
    public const string Listener = "dsn";

    /// <summary>Whether <paramref name="message"/>'s bounces get a report at all.</summary>
    public bool Applies(SpooledMessage message) => options.Dsn && message.MailFrom.Length > 0;

    /// <summary>Writes and commits the report for <paramref name="bounced"/> recipients of <paramref name="original"/>
    /// (whose body must still be in the spool); returns it for the queue to take, or null when none is due or it failed.</summary>
    public async Task<SpooledMessage?> CommitAsync(SpooledMessage original, IReadOnlyList<(string Address, RecipientOutcome Outcome)> bounced)
    {
        if (!Applies(original) || bounced.Count == 0)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var reportingMta = options.HeloName ?? "localhost";
        var report = new DsnReport
        {
            ReportingMta = reportingMta,
            MessageId = original.MessageId,
            EnvelopeSender = original.MailFrom,
            ArrivalDate = original.ReceivedAt,
            Recipients = [.. bounced.Select(b => Recipient(b.Address, b.Outcome, now))],
        };

        try
        {
            byte[] body;
            using (var stream = spool.OpenBody(original))
            {
                body = DsnWriter.Write(report, stream, now);
            }

            var utf8 = !original.MailFrom.All(char.IsAscii);
            var dsn = new SpooledMessage
            {
                MessageId = ids.NextMessageId(),
                TransmissionId = ids.NextDecimalId(),
                ReceivedAt = now,
                MailFrom = string.Empty,
                SmtpUtf8 = utf8,
                EightBitMime = utf8,
                Size = body.Length,
                Listener = Listener,
                RemoteIp = string.Empty,
                Helo = reportingMta,
                Subject = "Undelivered Mail Returned to Sender",
                FriendlyFrom = $"MAILER-DAEMON@{reportingMta}",
                Context = new Dictionary<string, string> { ["dsn_for"] = original.MessageId },
                Recipients = [new SpooledRecipient { Address = original.MailFrom }],
            };
            await spool.CommitAsync(dsn, body).ConfigureAwait(false);
            logger.LogInformation("dsn: message {Dsn} reports {Count} bounced recipient(s) of {Id} to <{Sender}>", dsn.MessageId, bounced.Count, original.MessageId, original.MailFrom);
            return dsn;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // The bounce events are the record of what failed; a report that cannot be made is logged, not retried.
            logger.LogError(e, "dsn: could not write the report for message {Id} to <{Sender}>", original.MessageId, original.MailFrom);
            return null;
        }
    }

    /// <summary>The remote host's reply when there was one; otherwise Beacon's own "[internal]" reason.</summary>
    private static DsnRecipient Recipient(string address, RecipientOutcome outcome, DateTimeOffset now)
    {
        var recipient = outcome switch
        {
            { Reply: { } reply, RemoteHost: { } host } => DsnRecipient.FromReply(address, reply, host),
            { Reply: { } reply } => new DsnRecipient(address, reply.Enhanced ?? "5.0.0", reply.ToString()),
            { BounceClass: DeliveryQueue.TimeoutBounceClass } => DsnRecipient.FromFailure(address, BounceClassifier.Classify(DeliveryFailure.Expired, outcome.Reason)),
            { BounceClass: DeliveryQueue.AdminBounceClass } => DsnRecipient.FromFailure(address, BounceClassifier.Classify(DeliveryFailure.AdminBounce, outcome.Reason)),
            _ => new DsnRecipient(address, "5.0.0", outcome.Reason) { DiagnosticType = "X-Beacon" },
        };
        return recipient with { LastAttempt = now };
    }
}
