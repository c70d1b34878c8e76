using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;

namespace Beacon.Webhooks;

/// <summary>
/// One webhook consumer (docs/webhooks.md), from the "webhooks" list of the configuration or from webhooks_file in
/// Momentum's format (a JSON array of these objects; hence the JSON names beside the configuration names).
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>Names the webhook's cursor and lease ("webhook:NAME"): renaming one starts it over from the
    /// beginning of the store. Defaults to the target URL, as Momentum's name is optional.</summary>
    [ConfigurationKeyName("name"), JsonPropertyName("name")]
    public string? Name { get; set; }

    [ConfigurationKeyName("target"), JsonPropertyName("target")]
    public string Target { get; set; } = string.Empty;

    /// <summary>Momentum's event keys (spec F14.8); the ones Beacon never produces (ad_adjust, ad_status,
    /// sms_status) are accepted and match nothing.</summary>
    [ConfigurationKeyName("events"), JsonPropertyName("events")]
    public List<string> Events { get; set; } = [];

    /// <summary>Sent as X-MessageSystems-Webhook-Token.</summary>
    [ConfigurationKeyName("auth_token"), JsonPropertyName("auth_token")]
    public string? AuthToken { get; set; }

    [ConfigurationKeyName("custom_headers"), JsonPropertyName("custom_headers")]
    public Dictionary<string, string> CustomHeaders { get; set; } = [];

    /// <summary>HMAC-SHA256 keys of X-Beacon-Signature; each one signs, so two are valid during a rotation.</summary>
    [ConfigurationKeyName("secrets"), JsonPropertyName("secrets")]
    public List<string> Secrets { get; set; } = [];

    /// <summary>Most events in one POST (Momentum: 10,000).</summary>
    [ConfigurationKeyName("batch_size"), JsonPropertyName("batch_size")]
    public int BatchSize { get; set; } = 10_000;

    /// <summary>Seconds a batch collects events before it is sent (Momentum: 30).</summary>
    [ConfigurationKeyName("batch_interval"), JsonPropertyName("batch_interval")]
    public double BatchInterval { get; set; } = 30;

    /// <summary>Seconds to wait for the endpoint's answer (Momentum: 6).</summary>
    [ConfigurationKeyName("timeout"), JsonPropertyName("timeout")]
    public double Timeout { get; set; } = 6;

    /// <summary>Seconds before the first retry; each retry doubles it, up to retry_max_interval.</summary>
    [ConfigurationKeyName("retry_base"), JsonPropertyName("retry_base")]
    public double RetryBase { get; set; } = 60;

    [ConfigurationKeyName("retry_max_interval"), JsonPropertyName("retry_max_interval")]
    public double RetryMaxInterval { get; set; } = 3600;

    /// <summary>Seconds after a batch's first attempt when it is dropped if still failing (Momentum: 4 hours).</summary>
    [ConfigurationKeyName("retry_for"), JsonPropertyName("retry_for")]
    public double RetryFor { get; set; } = 4 * 3600;

    internal string EffectiveName => string.IsNullOrWhiteSpace(Name) ? Target : Name;
}
