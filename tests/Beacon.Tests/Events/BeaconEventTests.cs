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
}
