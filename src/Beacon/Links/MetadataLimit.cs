using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Beacon.Links;

/// <summary>
/// <c>max_metadata_len</c> (spec §F9.3, §5 Q5): metadata goes into links and engagement events as compact UTF-8
/// JSON of at most that many bytes, keeping whole keys from the start and dropping the rest, never cutting JSON.
/// </summary>
public static class MetadataLimit
{
    /// <summary>
    /// The one serialisation whose length is measured: compact, and non-ASCII written as UTF-8 rather than \uXXXX
    /// (a third of the bytes). "Unsafe" in the encoder's name concerns HTML embedding; this JSON is sealed inside a
    /// token or sent as a JSON event, never placed in HTML.
    /// </summary>
    public static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The longest prefix of <paramref name="metadata"/>'s keys whose compact JSON fits in <paramref name="maxBytes"/>.</summary>
    public static JsonObject Trim(JsonObject metadata, int maxBytes)
    {
        var kept = KeptCount(metadata, maxBytes);
        var result = new JsonObject();
        var i = 0;
        foreach (var (key, value) in metadata)
        {
            if (i++ == kept)
            {
                break;
            }

            result[key] = value?.DeepClone();
        }

        return result;
    }

    /// <summary>The trimmed object as compact JSON text, as it goes into a <see cref="TrackedLink"/>.</summary>
    public static string TrimToJson(JsonObject metadata, int maxBytes) => Trim(metadata, maxBytes).ToJsonString(Compact);

    /// <summary>The UTF-8 length of <paramref name="node"/> serialised with <see cref="Compact"/>.</summary>
    public static int ByteCount(JsonNode? node) => Encoding.UTF8.GetByteCount(node?.ToJsonString(Compact) ?? "null");

    private static int KeptCount(JsonObject metadata, int maxBytes)
    {
        var size = 2; // {}
        var kept = 0;
        foreach (var (key, value) in metadata)
        {
            // "key":value, with a comma before every member but the first
            size += (kept == 0 ? 0 : 1) + ByteCount(JsonValue.Create(key)) + 1 + ByteCount(value);
            if (size > maxBytes)
            {
                break;
            }

            kept++;
        }

        return kept;
    }
}
