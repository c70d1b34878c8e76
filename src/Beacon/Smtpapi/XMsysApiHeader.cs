using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Smtp;

namespace Beacon.Smtpapi;

/// <summary>
/// The parsed X-MSYS-API header (spec §F4): the fields Beacon uses, each null when absent. Parsing follows
/// Momentum: unfold (the WSP of a fold stays in the value), decode RFC 2047 encoded-words, require UTF-8, parse a
/// JSON object no deeper than 32 levels; a field of the wrong type refuses the message with 550 5.6.0.
/// Unknown fields and substitution_data are ignored.
/// </summary>
public sealed record XMsysApiHeader
{
    public const int MaxDepth = 32;

    public const string Name = "X-MSYS-API";

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public string? CampaignId { get; init; }

    public JsonObject? Metadata { get; init; }

    /// <summary>The string elements of "tags", in order; null and non-string elements are skipped (Momentum MO-4367).</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    public bool? OpenTracking { get; init; }

    public bool? ClickTracking { get; init; }

    public bool? Transactional { get; init; }

    /// <summary>Parses the unfolded raw value of the first X-MSYS-API field.</summary>
    public static bool TryParse(byte[] rawValue, out XMsysApiHeader? header, out SmtpReply? error)
    {
        header = null;
        error = null;
        string text;
        try
        {
            text = StrictUtf8.GetString(rawValue);
        }
        catch (DecoderFallbackException)
        {
            error = SmtpapiError.NotUtf8();
            return false;
        }

        if (text.Contains("=?", StringComparison.Ordinal))
        {
            var decoded = MimeKit.Utils.Rfc2047.DecodeText(new MimeKit.ParserOptions { CharsetEncoding = StrictUtf8 }, rawValue);
            if (decoded.Contains('\uFFFD', StringComparison.Ordinal) && !text.Contains('\uFFFD', StringComparison.Ordinal))
            {
                error = SmtpapiError.NotUtf8();
                return false;
            }

            text = decoded;
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            error = e.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase) ? SmtpapiError.TooDeep(MaxDepth) : SmtpapiError.NotJson();
            return false;
        }

        if (root is not JsonObject json)
        {
            error = root is null ? SmtpapiError.NotJson() : SmtpapiError.FieldType("X-MSYS-API", "json object");
            return false;
        }

        header = new XMsysApiHeader();
        if (json.TryGetPropertyValue("campaign_id", out var campaign) && campaign is not null)
        {
            if (campaign.GetValueKind() != JsonValueKind.String)
            {
                error = SmtpapiError.FieldType("campaign_id", "string");
                return false;
            }

            header = header with { CampaignId = campaign.GetValue<string>() };
        }

        if (json.TryGetPropertyValue("metadata", out var metadata) && metadata is not null)
        {
            if (metadata is not JsonObject metadataObject)
            {
                error = SmtpapiError.FieldType("metadata", "json object");
                return false;
            }

            header = header with { Metadata = (JsonObject)metadataObject.DeepClone() };
        }

        if (json.TryGetPropertyValue("tags", out var tags) && tags is not null)
        {
            if (tags is not JsonArray tagArray)
            {
                error = SmtpapiError.FieldType("tags", "json array");
                return false;
            }

            header = header with { Tags = Strings(tagArray) };
        }

        if (json.TryGetPropertyValue("options", out var options) && options is not null)
        {
            if (options is not JsonObject optionsObject)
            {
                error = SmtpapiError.FieldType("options", "json object");
                return false;
            }

            bool? open = null, click = null, transactional = null;
            if (!TryOption(optionsObject, "open_tracking", ref open, ref error)
                || !TryOption(optionsObject, "click_tracking", ref click, ref error)
                || !TryOption(optionsObject, "transactional", ref transactional, ref error))
            {
                return false;
            }

            header = header with { OpenTracking = open, ClickTracking = click, Transactional = transactional };
        }

        return true;
    }

    internal static List<string> Strings(JsonArray array) =>
        [.. array.Where(t => t?.GetValueKind() == JsonValueKind.String).Select(t => t!.GetValue<string>())];

    private static bool TryOption(JsonObject options, string name, ref bool? value, ref SmtpReply? error)
    {
        if (!options.TryGetPropertyValue(name, out var node) || node is null)
        {
            return true;
        }

        value = Booleans.FromJson(node);
        if (value is null)
        {
            error = SmtpapiError.FieldType($"options.{name}", "boolean");
            return false;
        }

        return true;
    }
}
