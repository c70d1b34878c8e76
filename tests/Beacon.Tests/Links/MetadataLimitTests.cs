using System.Text;
using System.Text.Json.Nodes;
using Beacon.Links;

namespace Beacon.Tests.Links;

public sealed class MetadataLimitTests
{
    private static readonly JsonObject Metadata = JsonNode.Parse("""{"a":"1","bb":[1,2],"c":{"d":"é"},"e":null}""")!.AsObject();

    [Theory]
    [InlineData(1000, """{"a":"1","bb":[1,2],"c":{"d":"é"},"e":null}""")]
    [InlineData(44, """{"a":"1","bb":[1,2],"c":{"d":"é"},"e":null}""")] // exactly fits: é is two bytes
    [InlineData(43, """{"a":"1","bb":[1,2],"c":{"d":"é"}}""")]
    [InlineData(35, """{"a":"1","bb":[1,2],"c":{"d":"é"}}""")]
    [InlineData(34, """{"a":"1","bb":[1,2]}""")]
    [InlineData(20, """{"a":"1","bb":[1,2]}""")]
    [InlineData(19, """{"a":"1"}""")]
    [InlineData(9, """{"a":"1"}""")]
    [InlineData(8, "{}")]
    [InlineData(0, "{}")]
    public void Whole_keys_are_dropped_from_the_end_until_it_fits(int maxBytes, string expected)
    {
        var json = MetadataLimit.TrimToJson(Metadata, maxBytes);
        Assert.Equal(expected, json);
        Assert.True(Encoding.UTF8.GetByteCount(json) <= Math.Max(2, maxBytes));
    }

    [Fact]
    public void A_large_early_key_drops_everything_after_it_even_if_later_keys_are_small()
    {
        var metadata = new JsonObject { ["small"] = 1, ["big"] = new string('x', 100), ["tiny"] = 2 };
        Assert.Equal("""{"small":1}""", MetadataLimit.TrimToJson(metadata, 50));
    }

    [Fact]
    public void The_input_is_not_changed_and_the_result_is_independent()
    {
        var trimmed = MetadataLimit.Trim(Metadata, 20);
        trimmed["a"] = "changed";
        Assert.Equal(4, Metadata.Count);
        Assert.Equal("1", (string?)Metadata["a"]);
    }

    [Fact]
    public void Non_ascii_is_measured_as_utf8_not_as_escapes()
    {
        var metadata = new JsonObject { ["名前"] = "日本語" };
        Assert.Equal("""{"名前":"日本語"}""", MetadataLimit.TrimToJson(metadata, 100));
        Assert.Equal(2 + 8 + 1 + 11, MetadataLimit.ByteCount(metadata));
    }

    [Fact]
    public void Characters_json_must_escape_are_still_escaped_and_counted()
    {
        var metadata = new JsonObject { ["q"] = "a\"b\\c\n<" };
        var json = MetadataLimit.TrimToJson(metadata, 100);
        Assert.Equal("""{"q":"a\"b\\c\n<"}""", json);
        Assert.Equal(Encoding.UTF8.GetByteCount(json), MetadataLimit.ByteCount(metadata));
    }
}
