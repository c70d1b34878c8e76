using System.Text.Json.Nodes;
using Beacon.Events;
using Beacon.Links;
using Beacon.Spool;

namespace Beacon.Tracker;

/// <summary>
/// Builds open, initial_open, click and link_unsubscribe events in Momentum's schema (spec §2.2, §2.5) from the
/// link (what was sealed at rendering) and the request (who asked, and when). Ids come from the node's one
/// <see cref="MessageIdGenerator"/>, as the injection events' do.
/// </summary>
public sealed class EngagementEvents(MessageIdGenerator ids, string nodeName, TimeProvider time)
{
    /// <summary>The events one request records: one, or for an unsubscribe link a click and a link_unsubscribe (spec §5 Q20).</summary>
    public IEnumerable<BeaconEvent> Build(TrackedLink link, EngagementRequest request, EngagementVerdict verdict)
    {
        var type = link.Kind switch
        {
            LinkKind.Click => EventType.Click,
            LinkKind.InitialOpen => EventType.InitialOpen,
            _ => EventType.Open,
        };
        yield return Build(type, link, request, verdict);
        if (link.Kind == LinkKind.Click && link.Unsubscribe)
        {
            yield return Build(EventType.LinkUnsubscribe, link, request, verdict);
        }
    }

    private BeaconEvent Build(EventType type, TrackedLink link, EngagementRequest request, EngagementVerdict verdict)
    {
        var item = new BeaconEvent(type, ids.NextDecimalId(), time.GetUtcNow())
            .Set("message_id", link.MessageId)
            .Set("transmission_id", link.TransmissionId)
            .Set("customer_id", link.CustomerId)
            .Set("campaign_id", link.CampaignId)
            .Set("rcpt_to", link.Recipient.ToLowerInvariant())
            .Set("raw_rcpt_to", link.Recipient)
            .Set("rcpt_meta", RawJson.TryObject(link.Metadata)) // sealed by a writer that did not check: the event goes out without it
            .Set("rcpt_tags", link.Tags)
            .Set("ip_address", request.Address?.ToString())
            .Set("user_agent", request.UserAgent)
            .Set("accept_language", request.AcceptLanguage)
            .Set("target_link_url", link.Target)
            .Set("target_link_name", link.LinkName)
            .Set("delv_method", "esmtp")
            .Set("node_name", link.NodeName ?? nodeName)
            .Set("classification", verdict.Classification.Name())
            .Set("classification_reasons", verdict.Reasons.Names());
        return verdict.FirstHuman ? item.Set("first_human", JsonValue.Create(true)) : item;
    }
}
