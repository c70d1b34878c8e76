using System.Net;
using System.Text.Json.Nodes;
using Beacon.Links;
using Beacon.Spool;
using Beacon.Tests.Links;
using Beacon.Tracker;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Tracker;

public sealed class EngagementEventsTests
{
    private readonly FakeTimeProvider _time = new(LinkKit.Start);
    private readonly EngagementEvents _events;

    public EngagementEventsTests() => _events = new EngagementEvents(new MessageIdGenerator("tracker-1", _time), "tracker-1", _time);

    private static readonly EngagementRequest Request = new()
    {
        Address = IPAddress.Parse("203.0.113.7"),
        UserAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        AcceptLanguage = "en-US,en;q=0.8",
    };

    private static readonly EngagementVerdict Human = new(Classification.Human, ClassificationReason.BrowserUserAgent, FirstHuman: true);

    [Fact]
    public void A_click_carries_every_field_the_link_and_the_request_provide_in_momentums_schema()
    {
        var link = LinkKit.Click() with { Recipient = "Jane.Doe@Example.COM" };
        var json = Parse(Assert.Single(_events.Build(link, Request, Human)).ToJson(), "track_event");

        Assert.Equal(
            ["type", "event_id", "timestamp", "message_id", "transmission_id", "customer_id", "campaign_id", "rcpt_to", "raw_rcpt_to", "rcpt_meta", "rcpt_tags",
             "ip_address", "user_agent", "accept_language", "target_link_url", "target_link_name", "delv_method", "node_name", "classification",
             "classification_reasons", "first_human"],
            json.Select(p => p.Key));
        Assert.Equal("click", (string?)json["type"]);
        Assert.Matches("^[0-9]+$", (string?)json["event_id"]);
        Assert.Equal($"{LinkKit.Start.ToUnixTimeSeconds()}.000", (string?)json["timestamp"]);
        Assert.Equal("0000632c8b54d53f0a00", (string?)json["message_id"]);
        Assert.Equal("65832146450776065", (string?)json["transmission_id"]);
        Assert.Equal("1", (string?)json["customer_id"]);
        Assert.Equal("spring-sale-2025", (string?)json["campaign_id"]);
        Assert.Equal("jane.doe@example.com", (string?)json["rcpt_to"]);
        Assert.Equal("Jane.Doe@Example.COM", (string?)json["raw_rcpt_to"]);
        Assert.Equal("""{"user_id":"12345","plan":"premium"}""", json["rcpt_meta"]!.ToJsonString());
        Assert.Equal("""["newsletter","spring"]""", json["rcpt_tags"]!.ToJsonString());
        Assert.Equal("203.0.113.7", (string?)json["ip_address"]);
        Assert.Equal(Request.UserAgent, (string?)json["user_agent"]);
        Assert.Equal("en-US,en;q=0.8", (string?)json["accept_language"]);
        Assert.Equal(link.Target, (string?)json["target_link_url"]);
        Assert.Equal("hero_banner", (string?)json["target_link_name"]);
        Assert.Equal("esmtp", (string?)json["delv_method"]);
        Assert.Equal("mta1", (string?)json["node_name"]); // the node that rendered the link
        Assert.Equal("human", (string?)json["classification"]);
        Assert.Equal("""["browser_user_agent"]""", json["classification_reasons"]!.ToJsonString());
        Assert.True((bool)json["first_human"]!);
    }

    [Fact]
    public void An_open_has_no_target_fields_and_absent_values_are_omitted()
    {
        var link = LinkKit.Open() with { Metadata = null, CampaignId = null, NodeName = null, Tags = [] };
        var verdict = new EngagementVerdict(Classification.Unknown, ClassificationReason.NoUserAgent, false);
        var json = Parse(Assert.Single(_events.Build(link, new EngagementRequest(), verdict)).ToJson(), "track_event");

        Assert.Equal("open", (string?)json["type"]);
        foreach (var absent in new[] { "target_link_url", "target_link_name", "rcpt_meta", "campaign_id", "user_agent", "accept_language", "ip_address", "first_human" })
        {
            Assert.False(json.ContainsKey(absent), absent);
        }

        Assert.Equal("[]", json["rcpt_tags"]!.ToJsonString());
        Assert.Equal("tracker-1", (string?)json["node_name"]);
        Assert.Equal("unknown", (string?)json["classification"]);
    }

    [Fact]
    public void The_top_pixel_is_an_initial_open()
    {
        var item = Assert.Single(_events.Build(LinkKit.Open(LinkKind.InitialOpen), Request, Human));
        Assert.Equal("initial_open", (string?)Parse(item.ToJson(), "track_event")["type"]);
    }

    [Fact]
    public void An_unsubscribe_link_reports_a_click_and_a_link_unsubscribe()
    {
        var items = _events.Build(LinkKit.Click() with { Unsubscribe = true }, Request, Human).ToList();
        Assert.Equal(2, items.Count);
        Assert.Equal("click", (string?)Parse(items[0].ToJson(), "track_event")["type"]);
        var unsubscribe = Parse(items[1].ToJson(), "unsubscribe_event");
        Assert.Equal("link_unsubscribe", (string?)unsubscribe["type"]);
        Assert.Equal(LinkKit.Click().Target, (string?)unsubscribe["target_link_url"]);
        Assert.NotEqual((string?)Parse(items[0].ToJson(), "track_event")["event_id"], (string?)unsubscribe["event_id"]);
    }

    private static JsonObject Parse(string json, string category) => (JsonObject)JsonNode.Parse(json)!["msys"]![category]!;
}
