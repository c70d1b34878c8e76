using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Smtp;
using Microsoft.Extensions.Logging;

namespace Beacon.Smtpapi;

/// <summary>
/// Resolves one recipient's <see cref="TrackingSettings"/> with Momentum's precedence (spec §F5): an smtpapi_*
/// context variable beats the X-MSYS-API header, which beats the configuration scope, which beats the default.
/// Context variables are read from the message context, then the connection context (§5 Q3); mo_customer_id
/// from the connection first. A context value that can't be understood counts as not set (§5 Q4, Q18) and is
/// logged; engagement data of the wrong type refuses the message (§F4.8).
/// </summary>
public sealed class SmtpapiResolver(TagRegistry tags, ILogger<SmtpapiResolver> logger)
{
    public const int MaxCampaignIdBytes = 64;
    public const int MaxTagsPerRecipient = 10;

    public bool TryResolve(
        XMsysApiHeader? header, ConfiguredSmtpapi config, IReadOnlyDictionary<string, string> connection,
        IReadOnlyDictionary<string, string> message, out TrackingSettings settings, out SmtpReply? error)
    {
        settings = new TrackingSettings();
        error = null;
        string? Context(string name) => message.TryGetValue(name, out var v) ? v : connection.GetValueOrDefault(name);

        var campaign = Context("smtpapi_campaign_id") ?? header?.CampaignId;
        if (campaign is not null && Encoding.UTF8.GetByteCount(campaign) > MaxCampaignIdBytes)
        {
            error = SmtpapiError.ContextTooLong("smtpapi_campaign_id", MaxCampaignIdBytes);
            return false;
        }

        var metadata = header?.Metadata;
        if (Context("smtpapi_metadata") is { } metadataText)
        {
            if (ParseJson(metadataText) is not JsonObject parsed)
            {
                error = SmtpapiError.ContextType("smtpapi_metadata", "json object");
                return false;
            }

            metadata = parsed;
        }

        var tagList = header?.Tags;
        if (Context("smtpapi_tags") is { } tagsText)
        {
            if (ParseJson(tagsText) is not JsonArray parsed)
            {
                error = SmtpapiError.ContextType("smtpapi_tags", "json array");
                return false;
            }

            tagList = XMsysApiHeader.Strings(parsed);
        }

        settings = new TrackingSettings
        {
            OpenTracking = Bool(Context("smtpapi_open_tracking"), "smtpapi_open_tracking") ?? header?.OpenTracking ?? config.OpenTracking.Value,
            ClickTracking = Bool(Context("smtpapi_click_tracking"), "smtpapi_click_tracking") ?? header?.ClickTracking ?? config.ClickTracking.Value,
            OpenTrackingScheme = Scheme(Context("smtpapi_open_tracking_scheme"), "smtpapi_open_tracking_scheme") ?? config.OpenTrackingScheme.Value,
            ClickTrackingScheme = Scheme(Context("smtpapi_click_tracking_scheme"), "smtpapi_click_tracking_scheme") ?? config.ClickTrackingScheme.Value,
            TrackingDomain = Domain(Context("smtpapi_tracking_domain")) ?? config.TrackingDomain.Value,
            TrackingLinkExpiry = Expiry(Context("smtpapi_tracking_link_expiry")) ?? config.TrackingLinkExpiry.Value,
            CampaignId = campaign,
            Tags = tagList is null ? [] : tags.Admit(tagList.Distinct(StringComparer.Ordinal).Take(MaxTagsPerRecipient)),
            Metadata = metadata,
            CustomerId = (connection.TryGetValue("mo_customer_id", out var customer) ? customer : message.GetValueOrDefault("mo_customer_id"))
                ?? config.DefaultCustomerId.Value,
            ClickTrackingIncludeMetadata = config.ClickTrackingIncludeMetadata.Value,
            MaxMetadataLen = config.MaxMetadataLen.Value,
            Transactional = header?.Transactional,
        };
        return true;
    }

    private static JsonNode? ParseJson(string text)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = XMsysApiHeader.MaxDepth });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private bool? Bool(string? value, string name)
    {
        if (value is null)
        {
            return null;
        }

        var parsed = Booleans.FromText(value);
        if (parsed is null)
        {
            logger.LogWarning("smtpapi: context variable {Name}='{Value}' is not 1/0/true/false/yes/no; ignored", name, value);
        }

        return parsed;
    }

    private string? Scheme(string? value, string name)
    {
        var scheme = value?.Trim().ToLowerInvariant();
        if (scheme is null or "http" or "https")
        {
            return scheme;
        }

        logger.LogWarning("smtpapi: context variable {Name}='{Value}' is not http or https; ignored", name, value);
        return null;
    }

    private string? Domain(string? value)
    {
        if (value is null || TrackingDomain.IsValid(value.Trim()))
        {
            return value?.Trim();
        }

        logger.LogWarning("smtpapi: context variable smtpapi_tracking_domain='{Value}' is not host or host:port; ignored", value);
        return null;
    }

    private long? Expiry(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (long.TryParse(value.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
        {
            return seconds;
        }

        logger.LogWarning("smtpapi: context variable smtpapi_tracking_link_expiry='{Value}' is not a positive number of seconds; ignored", value);
        return null;
    }
}
