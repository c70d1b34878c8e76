using System.Globalization;
using System.Text.Json.Nodes;
using Beacon.Events;
using Beacon.Spool;

namespace Beacon.Queue;

/// <summary>
/// Builds delivery, delay and bounce events (spec §2.3, §2.4): the injection event's fields from the spooled
/// message and recipient, plus what the attempt learnt (the peer's address and reply, the bounce class,
/// queue_time in milliseconds, num_retries = failed attempts before this one).
/// </summary>
public sealed class DeliveryEvents(EventPipeline pipeline, MessageIdGenerator ids, string nodeName)
{
    public BeaconEvent Create(SpooledMessage message, SpooledRecipient recipient, RecipientOutcome outcome, DateTimeOffset now)
    {
        var type = outcome.Outcome switch
        {
            DeliveryOutcome.Delivered => EventType.Delivery,
            DeliveryOutcome.Deferred => EventType.Delay,
            _ => EventType.Bounce,
        };
        var tracking = recipient.Tracking;
        var domain = Router.DomainOf(recipient.Address);
        var item = new BeaconEvent(type, ids.NextDecimalId(), now)
            .Set("message_id", message.MessageId)
            .Set("transmission_id", message.TransmissionId)
            .Set("customer_id", tracking?.CustomerId)
            .Set("campaign_id", tracking?.CampaignId)
            .Set("msg_from", message.MailFrom)
            .Set("friendly_from", message.FriendlyFrom)
            .Set("subject", message.Subject)
            .Set("rcpt_to", recipient.Address.ToLowerInvariant())
            .Set("raw_rcpt_to", recipient.Address)
            .Set("rcpt_meta", tracking?.Metadata?.DeepClone() ?? new JsonObject())
            .Set("rcpt_tags", new JsonArray([.. (tracking?.Tags ?? []).Select(t => JsonValue.Create(t))]))
            .Set("routing_domain", domain.Length == 0 ? null : domain.ToLowerInvariant())
            .Set("msg_size", message.Size)
            .Set("recv_method", "esmtp")
            .Set("delv_method", outcome.DeliveryMethod)
            .Set("node_name", nodeName)
            .Set("queue_time", (long)(now - message.ReceivedAt).TotalMilliseconds)
            .Set("num_retries", recipient.Attempts)
            .Set("injection_time", message.ReceivedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture))
            .Set("ip_address", outcome.RemoteIp)
            .Set("remote_host", outcome.RemoteHost);
        if (type != EventType.Delivery)
        {
            item.Set("bounce_class", outcome.BounceClass?.ToString(CultureInfo.InvariantCulture))
                .Set("error_code", outcome.Reply?.Code.ToString(CultureInfo.InvariantCulture) ?? outcome.ErrorCode)
                .Set("raw_reason", outcome.Reason)
                .Set("reason", outcome.Reason);
        }

        foreach (var (field, value) in outcome.Fields ?? new Dictionary<string, JsonNode?>())
        {
            item.Set(field, value?.DeepClone());
        }

        return item;
    }

    public ValueTask PublishAsync(BeaconEvent item) => pipeline.PublishAsync(item);
}
