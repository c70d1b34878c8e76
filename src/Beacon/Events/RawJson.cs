using System.Text;
using System.Text.Json;

namespace Beacon.Events;

/// <summary>
/// A JSON value kept as its UTF-8 text, for event fields that arrive serialized (a link's sealed metadata): written
/// into the event as it is, instead of being parsed into a node tree on every click only to be written out again.
/// </summary>
public sealed class RawJson
{
    private RawJson(byte[] utf8) => Utf8 = utf8;

    public byte[] Utf8 { get; }

    /// <summary>The text if it is exactly one well-formed JSON object (whitespace around it allowed), else null.</summary>
    public static RawJson? TryObject(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        var utf8 = Encoding.UTF8.GetBytes(json);
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            reader.Skip(); // walks the whole object: a syntax error throws
            return reader.Read() ? null : new RawJson(utf8);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public override string ToString() => Encoding.UTF8.GetString(Utf8);
}
