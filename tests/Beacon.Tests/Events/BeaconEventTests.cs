using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Events;

namespace Beacon.Tests.Events;

public sealed class BeaconEventTests
{
    [Theory]
    [InlineData(EventType.Injection, "message_event", "injection")]
    [InlineData(EventType.PolicyRejection, "message_event", "policy_rejection")]
    [InlineData(EventType.Click, "track_event", "click")]
    [InlineData(EventType.LinkUnsubscribe, "unsubscribe_event", "link_unsubscribe")]
    [InlineData(EventType.GenerationFailure, "gen_event", "generation_failure")]
    public void Events_use_momentums_envelope(EventType type, string category, string name)
    {
        var json = JsonNode.Parse(new BeaconEvent(type, "1", DateTimeOffset.FromUnixTimeMilliseconds(1411751722079)).ToJson())!;
        Assert.Equal(name, (string?)json["msys"]![category]!["type"]);
        Assert.Equal("1411751722.079", (string?)json["msys"]![category]!["timestamp"]);
    }

    [Fact]
    public void Numbers_are_strings_absent_fields_are_omitted_and_text_is_not_html_escaped()
    {
        var item = new BeaconEvent(EventType.Injection, "7", DateTimeOffset.UnixEpoch)
            .Set("msg_size", 1234)
            .Set("campaign_id", (string?)null)
            .Set("subject", "Tom & Jerry <3 +1")
            .Set("rcpt_meta", new JsonObject());
        var fields = JsonDocument.Parse(item.ToJson()).RootElement.GetProperty("msys").GetProperty("message_event");

        Assert.Equal(JsonValueKind.String, fields.GetProperty("msg_size").ValueKind);
        Assert.False(fields.TryGetProperty("campaign_id", out _));
        Assert.Contains("Tom & Jerry <3 +1", item.ToJson(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Object, fields.GetProperty("rcpt_meta").ValueKind);
    }

    [Fact]
    public void A_field_set_again_keeps_its_place_and_takes_the_later_value_and_many_fields_stay_distinct()
    {
        var item = new BeaconEvent(EventType.Click, "1", DateTimeOffset.UnixEpoch).Set("campaign_id", "a").Set("rcpt_to", "x@example.com");
        for (var i = 0; i < 100; i++)
        {
            item.Set($"f{i}", i);
        }

        item.Set("campaign_id", "b").Set("f7", "seven");
        var fields = JsonDocument.Parse(item.ToJson()).RootElement.GetProperty("msys").GetProperty("track_event").EnumerateObject().ToList();
        Assert.Equal(["type", "event_id", "timestamp", "campaign_id", "rcpt_to"], fields.Take(5).Select(f => f.Name));
        Assert.Equal("b", fields[3].Value.GetString());
        Assert.Equal(105, fields.Count);
        Assert.Equal("seven", item["f7"]);
        Assert.Equal("99", item["f99"]);
    }

    [Theory]
    [InlineData("""{"plan":"gold","n":[1,{"a":null}]}""", true)]
    [InlineData("""  {"ünïcode":"✓"}  """, true)]
    [InlineData("""[1,2]""", false)]
    [InlineData("""{"a":1} {"b":2}""", false)]
    [InlineData("""{"a":1""", false)]
    [InlineData("""{'a':1}""", false)]
    [InlineData("", false)]
    public void Raw_json_fields_take_exactly_one_well_formed_object_and_are_written_as_they_are(string text, bool accepted)
    {
        var raw = RawJson.TryObject(text);
        Assert.Equal(accepted, raw is not null);
        if (raw is not null)
        {
            var item = new BeaconEvent(EventType.Open, "1", DateTimeOffset.UnixEpoch).Set("rcpt_meta", raw);
            var meta = JsonNode.Parse(item.ToJson())!["msys"]!["track_event"]!["rcpt_meta"]!;
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(text), meta));
            Assert.Equal(text, item["rcpt_meta"]);
        }
    }
}
