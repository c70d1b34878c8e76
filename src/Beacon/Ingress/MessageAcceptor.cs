using System.Text.Json.Nodes;
using Beacon.Events;
using Beacon.Smtp;
using Beacon.Spool;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Beacon.Ingress;

/// <summary>
/// The end of a transaction: turns a received body and its envelope into a durable spool entry and its
/// injection events, or into a refusal with policy_rejection events. The whole transaction is one unit: every
/// recipient is spooled with the one body, or none is.
/// </summary>
public sealed class MessageAcceptor(SpoolStore spool, EventPipeline events, MessageIdGenerator ids, string nodeName, TimeProvider time, ILogger<MessageAcceptor> logger)
{
    public IncomingMessage Begin(SmtpSession session, string remoteIp, long sizeLimit)
    {
        var transaction = session.Transaction!;
        var incoming = spool.Begin(ids.NextMessageId(), ids.NextDecimalId(), sizeLimit);
        var single = transaction.Recipients.Count == 1 ? transaction.Recipients[0].Address : null;
        incoming.WriteHeader(ReceivedHeader.Build(
            session.HeloName, remoteIp, session.Options.HostName, session.ProtocolName, incoming.MessageId, single, time.GetLocalNow(), transaction.SmtpUtf8));
        return incoming;
    }

    /// <summary>Drops a body whose transaction did not complete (RSET, disconnect, shutdown).</summary>
    public void Abort(IncomingMessage incoming) => spool.Abort(incoming);

    /// <summary>Commits and answers. 250 only after the spool write reached the disk.</summary>
    public async Task<SmtpReply> AcceptAsync(SmtpSession session, IncomingMessage incoming, string listener, string remoteIp)
    {
        var transaction = session.Transaction!;
        if (incoming.Oversized)
        {
            spool.Abort(incoming);
            var tooBig = session.MessageTooBig();
            await RejectAsync(session, transaction.Recipients, tooBig, remoteIp, incoming).ConfigureAwait(false);
            return tooBig;
        }

        var headers = ReadHeaders(incoming);
        var context = new Dictionary<string, string>();
        if (session.User?.CustomerId is { } customerId)
        {
            context["mo_customer_id"] = customerId;
        }

        var message = new SpooledMessage
        {
            MessageId = incoming.MessageId,
            TransmissionId = incoming.TransmissionId,
            ReceivedAt = time.GetUtcNow(),
            MailFrom = transaction.MailFrom.Address,
            SmtpUtf8 = transaction.SmtpUtf8,
            EightBitMime = transaction.BodyType == BodyType.EightBitMime,
            Size = incoming.Length,
            Listener = listener,
            RemoteIp = remoteIp,
            Helo = session.HeloName,
            AuthUser = session.User?.Username,
            Context = context,
            Recipients = [.. transaction.Recipients.Select(r => new SpooledRecipient { Address = r.Address })],
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

        foreach (var recipient in transaction.Recipients)
        {
            var item = NewEvent(EventType.Injection, session, transaction.MailFrom.Address, recipient)
                .Set("message_id", message.MessageId)
                .Set("transmission_id", message.TransmissionId)
                .Set("msg_size", message.Size)
                .Set("subject", headers?[HeaderId.Subject])
                .Set("friendly_from", FriendlyFrom(headers))
                .Set("rcpt_meta", new JsonObject())
                .Set("rcpt_tags", new JsonArray());
            await events.PublishAsync(item).ConfigureAwait(false);
        }

        return new SmtpReply(250, "2.0.0", $"OK {message.MessageId}");
    }

    /// <summary>Records refused recipients (relay denied, too many recipients, message too big).</summary>
    public async Task RejectAsync(SmtpSession session, IEnumerable<MailPath> recipients, SmtpReply reply, string remoteIp, IncomingMessage? incoming = null)
    {
        foreach (var recipient in recipients)
        {
            var item = NewEvent(EventType.PolicyRejection, session, session.Transaction?.MailFrom.Address ?? string.Empty, recipient)
                .Set("message_id", incoming?.MessageId)
                .Set("transmission_id", incoming?.TransmissionId)
                .Set("error_code", reply.Code)
                .Set("raw_reason", reply.ToString())
                .Set("reason", reply.ToString())
                .Set("remote_addr", remoteIp);
            await events.PublishAsync(item).ConfigureAwait(false);
        }
    }

    private BeaconEvent NewEvent(EventType type, SmtpSession session, string mailFrom, MailPath recipient)
    {
        var domain = recipient.Mailbox?.Domain;
        return new BeaconEvent(type, ids.NextDecimalId(), time.GetUtcNow())
            .Set("customer_id", session.User?.CustomerId)
            .Set("msg_from", mailFrom)
            .Set("rcpt_to", recipient.Address.ToLowerInvariant())
            .Set("raw_rcpt_to", recipient.Address)
            .Set("routing_domain", string.IsNullOrEmpty(domain) ? null : domain.ToLowerInvariant())
            .Set("recv_method", "esmtp")
            .Set("node_name", nodeName);
    }

    /// <summary>Subject and From for the event; a message whose header can't be parsed is still accepted.</summary>
    private HeaderList? ReadHeaders(IncomingMessage incoming)
    {
        try
        {
            using var stream = incoming.OpenRead();
            return HeaderList.Load(stream);
        }
        catch (Exception e) when (e is FormatException or IOException)
        {
            logger.LogDebug(e, "message {Id}: header not parsed for the injection event", incoming.MessageId);
            return null;
        }
    }

    private static string? FriendlyFrom(HeaderList? headers) =>
        headers?[HeaderId.From] is { } from && InternetAddressList.TryParse(from, out var list) && list.Mailboxes.FirstOrDefault() is { } first
            ? first.Address
            : null;
}
