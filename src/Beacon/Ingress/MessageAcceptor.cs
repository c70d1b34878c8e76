using System.Text.Json.Nodes;
using Beacon.Events;
using Beacon.Policy;
using Beacon.Queue;
using Beacon.Smtp;
using Beacon.Smtpapi;
using Beacon.Spool;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Beacon.Ingress;

/// <summary>
/// The end of a transaction: runs the data-phase policy and the smtpapi stage over the received message, then
/// turns it into a durable spool entry and its injection events, or into a refusal with policy_rejection events.
/// The whole transaction is one unit: every recipient is spooled with the one body, or none is.
/// </summary>
public sealed class MessageAcceptor(
    SpoolStore spool, EventPipeline events, MessageIdGenerator ids, IPolicy policy, SmtpapiStage smtpapi, DeliveryQueue queue,
    string nodeName, TimeProvider time, ILogger<MessageAcceptor> logger)
{
    public IncomingMessage Begin(SmtpSession session, long sizeLimit)
    {
        var transaction = session.Transaction!;
        var incoming = spool.Begin(ids.NextMessageId(), ids.NextDecimalId(), sizeLimit);
        var single = transaction.Recipients.Count == 1 ? transaction.Recipients[0].Address : null;
        incoming.WriteHeader(ReceivedHeader.Build(
            session.HeloName, session.PeerAddress, session.Options.HostName, session.ProtocolName, incoming.MessageId, single, time.GetLocalNow(), transaction.SmtpUtf8));
        return incoming;
    }

    /// <summary>Drops a body whose transaction did not complete (RSET, disconnect, shutdown).</summary>
    public void Abort(IncomingMessage incoming) => spool.Abort(incoming);

    /// <summary>Decides, commits and answers. 250 only after the spool write reached the disk.</summary>
    public async Task<SmtpReply> AcceptAsync(SmtpSession session, IncomingMessage incoming, Listener listener)
    {
        var transaction = session.Transaction!;
        var refusal = incoming.Oversized ? session.MessageTooBig() : null;
        MessageHeaders? headers = null;
        var settings = new List<TrackingSettings>();
        if (refusal is null)
        {
            using (var stream = incoming.OpenRead())
            {
                headers = MessageHeaders.Read(stream);
            }

            var outcome = DataPolicy.Run(policy, session, headers);
            refusal = outcome.Refusal;
            if (refusal is null && !smtpapi.TryResolve(headers, session, listener.Options, outcome.RecipientContexts, out settings, out refusal))
            {
                logger.LogInformation("smtpapi: refused message {Id} from {Peer}: {Reply}", incoming.MessageId, session.PeerAddress, refusal);
            }
        }

        if (refusal is not null)
        {
            spool.Abort(incoming);
            await RejectAsync(session, transaction.Recipients, refusal, incoming).ConfigureAwait(false);
            return refusal;
        }

        if (headers!.Changed)
        {
            incoming.ReplaceHeaderSection(headers.Serialize(), headers.BodyOffset);
        }

        var subject = headers.Fields.FirstOrDefault(f => f.Name.Equals("Subject", StringComparison.OrdinalIgnoreCase)) is { } field
            ? MimeKit.Utils.Rfc2047.DecodeText(field.RawValue)
            : null;
        var from = FriendlyFrom(headers.Values("From").FirstOrDefault());
        var message = new SpooledMessage
        {
            Subject = subject,
            FriendlyFrom = from,
            MessageId = incoming.MessageId,
            TransmissionId = incoming.TransmissionId,
            ReceivedAt = time.GetUtcNow(),
            MailFrom = transaction.MailFrom.Address,
            SmtpUtf8 = transaction.SmtpUtf8,
            EightBitMime = transaction.BodyType == BodyType.EightBitMime,
            Size = incoming.Length,
            Listener = listener.Name,
            RemoteIp = session.PeerAddress,
            Helo = session.HeloName,
            AuthUser = session.User?.Username,
            Context = new Dictionary<string, string>(session.ConnectionContext),
            Recipients = [.. transaction.Recipients.Select((r, i) => new SpooledRecipient { Address = r.Address, Tracking = settings[i] })],
        };

        try
        {
            await spool.CommitAsync(incoming, message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError(e, "spool: could not store message {Id}", incoming.MessageId);
            spool.Abort(incoming);
            return new SmtpReply(451, "4.3.0", "Temporary storage failure, try again later");
        }

        for (var i = 0; i < transaction.Recipients.Count; i++)
        {
            var tracking = settings[i];
            var item = NewEvent(EventType.Injection, session, transaction.MailFrom.Address, transaction.Recipients[i], tracking.CustomerId)
                .Set("message_id", message.MessageId)
                .Set("transmission_id", message.TransmissionId)
                .Set("campaign_id", tracking.CampaignId)
                .Set("msg_size", message.Size)
                .Set("subject", subject)
                .Set("friendly_from", from)
                .Set("rcpt_meta", tracking.Metadata ?? EmptyObject) // written, never changed: shared, not copied
                .Set("rcpt_tags", tracking.Tags)
                .Set("open_tracking", Bool(tracking.OpenTracking))
                .Set("click_tracking", Bool(tracking.ClickTracking))
                .Set("transactional", tracking.Transactional is { } transactional ? Bool(transactional) : null);
            await events.PublishAsync(item).ConfigureAwait(false);
        }

        await queue.EnqueueAsync(message).ConfigureAwait(false);
        return new SmtpReply(250, "2.0.0", $"OK {message.MessageId}");
    }

    private static readonly JsonObject EmptyObject = [];
    private static readonly JsonValue True = JsonValue.Create(true);
    private static readonly JsonValue False = JsonValue.Create(false);

    private static JsonValue Bool(bool value) => value ? True : False;

    /// <summary>Records refused recipients (relay denied, policy, too many recipients, message too big).</summary>
    public async Task RejectAsync(SmtpSession session, IEnumerable<MailPath> recipients, SmtpReply reply, IncomingMessage? incoming = null)
    {
        foreach (var recipient in recipients)
        {
            var item = NewEvent(EventType.PolicyRejection, session, session.Transaction?.MailFrom.Address ?? string.Empty, recipient, session.ConnectionContext.GetValueOrDefault("mo_customer_id"))
                .Set("message_id", incoming?.MessageId)
                .Set("transmission_id", incoming?.TransmissionId)
                .Set("error_code", reply.Code)
                .Set("raw_reason", reply.ToString())
                .Set("reason", reply.ToString())
                .Set("remote_addr", session.PeerAddress);
            await events.PublishAsync(item).ConfigureAwait(false);
        }
    }

    private BeaconEvent NewEvent(EventType type, SmtpSession session, string mailFrom, MailPath recipient, string? customerId)
    {
        var domain = recipient.Mailbox?.Domain;
        return new BeaconEvent(type, ids.NextDecimalId(), time.GetUtcNow())
            .Set("customer_id", customerId)
            .Set("msg_from", mailFrom)
            .Set("rcpt_to", recipient.Address.ToLowerInvariant())
            .Set("raw_rcpt_to", recipient.Address)
            .Set("routing_domain", string.IsNullOrEmpty(domain) ? null : domain.ToLowerInvariant())
            .Set("recv_method", "esmtp")
            .Set("node_name", nodeName);
    }

    /// <summary>The first address of From for the event; an unparsable From is left out, never a reason to refuse.</summary>
    private static string? FriendlyFrom(string? from) =>
        from is not null && InternetAddressList.TryParse(from, out var list) && list.Mailboxes.FirstOrDefault() is { } first
            ? first.Address
            : null;
}
