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
    // Field name → string, string list (a JSON array of strings) or JsonNode, in the order set. A list, not a JsonObject: an event has about 20 fields, is
    // built once on a hot path (every click, every recipient) and written once; a dictionary and a node per
    // value cost more than the linear look-ups they save.
    private readonly List<KeyValuePair<string, object>> _fields = new(24);

    // A 64-bit filter of the names set so far (a bit per name's length and last character): a name whose bit is
    // clear is new, and is appended without comparing it with every field before it.
    private ulong _names;

    public BeaconEvent(EventType type, string eventId, DateTimeOffset timestamp)
    {
        Type = type;
        Timestamp = timestamp;
        Put("type", type.Name());
        Put("event_id", eventId);
        var milliseconds = timestamp.ToUnixTimeMilliseconds();
        Put("timestamp", string.Create(CultureInfo.InvariantCulture, $"{Math.DivRem(milliseconds, 1000, out var fraction)}.{fraction:000}"));
    }

    // Events are UTF-8 JSON for machines: escape only what JSON requires, not HTML-sensitive characters.
    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public EventType Type { get; }

    public DateTimeOffset Timestamp { get; }

    /// <summary>A field's value as text: a string as it is, any other JSON value as JSON.</summary>
    public string? this[string field]
    {
        get
        {
            foreach (var (name, value) in _fields)
            {
                if (name == field)
                {
                    return value switch
                    {
                        string text => text,
                        IReadOnlyList<string> list => JsonSerializer.Serialize(list, Output),
                        RawJson raw => raw.ToString(),
                        JsonValue node when node.TryGetValue<string>(out var text) => text,
                        _ => ((JsonNode)value).ToJsonString(Output),
                    };
                }
            }

            return null;
        }
    }

    public BeaconEvent Set(string field, string? value)
    {
        if (value is not null)
        {
            Put(field, value);
        }

        return this;
    }

    public BeaconEvent Set(string field, long value) => Set(field, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A JSON array of strings (tags, reasons), without a JsonNode per element.</summary>
    public BeaconEvent Set(string field, IReadOnlyList<string>? values)
    {
        if (values is not null)
        {
            Put(field, values);
        }

        return this;
    }

    public BeaconEvent Set(string field, JsonNode? value)
    {
        if (value is not null)
        {
            Put(field, value);
        }

        return this;
    }

    /// <summary>A JSON value already serialized (and checked by <see cref="RawJson.TryObject"/>), written as it is.</summary>
    public BeaconEvent Set(string field, RawJson? value)
    {
        if (value is not null)
        {
            Put(field, value);
        }

        return this;
    }

    /// <summary>The flat form the stores take; timestamps keep millisecond precision, as the JSON.</summary>
    public EventRecord ToRecord()
    {
        var keys = Keys();
        return new(Type, DateTimeOffset.FromUnixTimeMilliseconds(Timestamp.ToUnixTimeMilliseconds()),
            keys.MessageId, keys.TransmissionId, keys.CampaignId, keys.Recipient, keys.LinkName, keys.LinkUrl, keys.Classification, ToJson());
    }

    /// <summary>The fields the stores index, in one pass over the fields.</summary>
    internal EventKeys Keys()
    {
        var keys = default(EventKeys);
        foreach (var (name, value) in _fields)
        {
            if (value is not string text)
            {
                continue; // the indexed fields are all strings
            }

            keys = name switch
            {
                "message_id" => keys with { MessageId = text },
                "transmission_id" => keys with { TransmissionId = text },
                "campaign_id" => keys with { CampaignId = text },
                "rcpt_to" => keys with { Recipient = text },
                "target_link_name" => keys with { LinkName = text },
                "target_link_url" => keys with { LinkUrl = text },
                "classification" => keys with { Classification = text },
                _ => keys,
            };
        }

        return keys;
    }

    /// <summary>{"msys":{"message_event":{…}}}.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            WriteJson(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The options <see cref="WriteJson"/> expects of its writer.</summary>
    internal static JsonWriterOptions JsonOptions => new() { Encoder = Output.Encoder };

    /// <summary>Writes {"msys":{"message_event":{…}}} as UTF-8 (the journal writes it straight into its buffer).</summary>
    internal void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("msys");
        writer.WriteStartObject(Type.Category());
        foreach (var (name, value) in _fields)
        {
            switch (value)
            {
                case string text:
                    writer.WriteString(name, text);
                    break;
                case IReadOnlyList<string> list:
                    writer.WriteStartArray(name);
                    foreach (var item in list)
                    {
                        writer.WriteStringValue(item);
                    }

                    writer.WriteEndArray();
                    break;
                case RawJson raw:
                    writer.WritePropertyName(name);
                    writer.WriteRawValue(raw.Utf8, skipInputValidation: true);
                    break;
                default:
                    writer.WritePropertyName(name);
                    ((JsonNode)value).WriteTo(writer, Output);
                    break;
            }
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>Sets a field, in place if it is set already (a later value wins, as in a JSON object).</summary>
    private void Put(string field, object value)
    {
        var bit = 1UL << (int)(((uint)field.Length * 7 + (field.Length > 0 ? field[^1] : 0u)) & 63);
        if ((_names & bit) == 0)
        {
            _names |= bit;
            _fields.Add(new(field, value));
            return;
        }

        for (var i = 0; i < _fields.Count; i++)
        {
            if (_fields[i].Key == field)
            {
                _fields[i] = new(field, value);
                return;
            }
        }

        _fields.Add(new(field, value));
    }
}

/// <summary>The fields of an event that the stores index (see <see cref="EventRecord"/>).</summary>
internal readonly record struct EventKeys(string? MessageId, string? TransmissionId, string? CampaignId, string? Recipient, string? LinkName, string? LinkUrl, string? Classification);
