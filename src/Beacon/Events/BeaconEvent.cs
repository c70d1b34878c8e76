using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Beacon.Events;

/// <summary>
/// One event in Momentum's schema: numbers as JSON strings, absent fields omitted (spec §2.1, §2.5).
/// Fields are added in the order they should appear; null values are skipped.
/// </summary>
public sealed class BeaconEvent
{
    private readonly JsonObject _fields = [];

    public BeaconEvent(EventType type, string eventId, DateTimeOffset timestamp)
    {
        Type = type;
        Timestamp = timestamp;
        _fields["type"] = type.Name();
        _fields["event_id"] = eventId;
        _fields["timestamp"] = (timestamp.ToUnixTimeMilliseconds() / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);
    }

    // Events are UTF-8 JSON for machines: escape only what JSON requires, not HTML-sensitive characters.
    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public EventType Type { get; }

    public DateTimeOffset Timestamp { get; }

    public string? this[string field] => _fields[field]?.ToString();

    public BeaconEvent Set(string field, string? value)
    {
        if (value is not null)
        {
            _fields[field] = value;
        }

        return this;
    }

    public BeaconEvent Set(string field, long value) => Set(field, value.ToString(CultureInfo.InvariantCulture));

    public BeaconEvent Set(string field, JsonNode? value)
    {
        if (value is not null)
        {
            _fields[field] = value;
        }

        return this;
    }

    /// <summary>The flat form the journal and the stores take; timestamps keep millisecond precision, as the JSON.</summary>
    public EventRecord ToRecord() => new(
        Type,
        DateTimeOffset.FromUnixTimeMilliseconds(Timestamp.ToUnixTimeMilliseconds()),
        this["message_id"],
        this["transmission_id"],
        this["campaign_id"],
        this["rcpt_to"],
        this["target_link_name"],
        this["target_link_url"],
        this["classification"],
        ToJson());

    /// <summary>{"msys":{"message_event":{…}}}, written around the fields in place: no copy of the tree per event.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Output.Encoder }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("msys");
            writer.WritePropertyName(Type.Category());
            _fields.WriteTo(writer, Output);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
