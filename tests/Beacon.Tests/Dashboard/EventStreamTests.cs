using System.Text;
using Beacon.Dashboard;
using Beacon.Events;

namespace Beacon.Tests.Dashboard;

/// <summary>The event stream's frames and the filters it applies itself (the store filters only by type).</summary>
public sealed class EventStreamTests
{
    private static readonly StoredEvent Click = new(42, EventType.Click, DateTimeOffset.UnixEpoch, "m1", "t1", "spring", "jane@example.com",
        """{"msys":{"track_event":{"type":"click","campaign_id":"spring"}}}""");

    [Fact]
    public void A_frame_is_the_sequence_as_id_and_the_stored_json_as_data()
    {
        var frames = new StringBuilder();
        EventStream.AppendFrame(frames, Click);
        Assert.Equal("id: 42\ndata: {\"msys\":{\"track_event\":{\"type\":\"click\",\"campaign_id\":\"spring\"}}}\n\n", frames.ToString());

        // A line break inside the data would end the frame early: each line gets its own data field.
        frames.Clear();
        EventStream.AppendFrame(frames, Click with { Json = "{\r\n\"a\": 1\n}" });
        Assert.Equal("id: 42\ndata: {\ndata: \"a\": 1\ndata: }\n\n", frames.ToString());
    }

    [Theory]
    [InlineData(null, null, null, true)]
    [InlineData("spring", null, null, true)]
    [InlineData("autumn,spring", "JANE@example.com", null, true)] // recipients compare without case, as the API's
    [InlineData("Spring", null, null, false)] // campaigns compare exactly
    [InlineData(null, "joe@example.com", null, false)]
    [InlineData(null, null, "m1", true)]
    [InlineData(null, null, "m2", false)]
    public void Campaign_recipient_and_message_filters_must_all_match(string? campaigns, string? recipients, string? messages, bool matches)
    {
        var filter = new EventQuery
        {
            Campaigns = campaigns?.Split(','),
            Recipients = recipients?.Split(','),
            MessageIds = messages?.Split(','),
        };
        Assert.Equal(matches, EventStream.Matches(filter, Click));
        if (campaigns is not null)
        {
            Assert.False(EventStream.Matches(filter, Click with { CampaignId = null })); // an event without a campaign is in none
        }
    }
}
