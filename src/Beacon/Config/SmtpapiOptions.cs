using Microsoft.Extensions.Configuration;

namespace Beacon.Config;

/// <summary>
/// Momentum's smtpapi options (spec §F3) for one scope: global (the top-level "smtpapi" block, with
/// "engagement_tracker" for the last two), a listener's "smtpapi" block, or a peer's inside a listener. A value
/// left out of a scope falls through to the next wider one: peer (most specific CIDR) → listener → global →
/// built-in default.
/// </summary>
public sealed class SmtpapiScope
{
    [ConfigurationKeyName("open_tracking_enabled")]
    public bool? OpenTrackingEnabled { get; set; }

    [ConfigurationKeyName("click_tracking_enabled")]
    public bool? ClickTrackingEnabled { get; set; }

    [ConfigurationKeyName("open_tracking_scheme")]
    public string? OpenTrackingScheme { get; set; }

    [ConfigurationKeyName("click_tracking_scheme")]
    public string? ClickTrackingScheme { get; set; }

    [ConfigurationKeyName("tracking_domain")]
    public string? TrackingDomain { get; set; }

    /// <summary>Seconds for which tracked links count events.</summary>
    [ConfigurationKeyName("tracking_link_expiry")]
    public long? TrackingLinkExpiry { get; set; }

    [ConfigurationKeyName("click_tracking_include_metadata")]
    public bool? ClickTrackingIncludeMetadata { get; set; }

    [ConfigurationKeyName("max_metadata_len")]
    public int? MaxMetadataLen { get; set; }

    /// <summary>customer_id when neither AUTH nor policy set mo_customer_id (spec §5 Q26); unset omits it.</summary>
    [ConfigurationKeyName("default_customer_id")]
    public string? DefaultCustomerId { get; set; }
}

/// <summary>The global "engagement_tracker" block (spec §F9.2–F9.3); the tracker issue adds its listener here.</summary>
public sealed class EngagementTrackerOptions
{
    [ConfigurationKeyName("click_tracking_include_metadata")]
    public bool ClickTrackingIncludeMetadata { get; set; } = true;

    [ConfigurationKeyName("max_metadata_len")]
    public int MaxMetadataLen { get; set; } = 1000;
}

/// <summary>Settings for the clients inside one CIDR of a listener.</summary>
public sealed class PeerOptions
{
    [ConfigurationKeyName("cidr")]
    public string Cidr { get; set; } = string.Empty;

    [ConfigurationKeyName("smtpapi")]
    public SmtpapiScope Smtpapi { get; set; } = new();
}

public sealed class PolicyOptions
{
    /// <summary>Lua scripts loaded in order at start-up (Momentum policy scripts run unchanged).</summary>
    [ConfigurationKeyName("scripts")]
    public List<string> Scripts { get; set; } = [];

    /// <summary>Lua VM instructions one hook call may execute before it is stopped with 451 4.3.0.</summary>
    [ConfigurationKeyName("instruction_budget")]
    public long InstructionBudget { get; set; } = 10_000_000;

    /// <summary>Memory one Lua state may hold, in megabytes.</summary>
    [ConfigurationKeyName("memory_limit_mb")]
    public int MemoryLimitMb { get; set; } = 64;

    /// <summary>Lua states kept ready (a state serves one call at a time). 0 means twice the processor count.</summary>
    [ConfigurationKeyName("pool_size")]
    public int PoolSize { get; set; }
}
