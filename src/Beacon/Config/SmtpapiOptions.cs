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

/// <summary>
/// The global "engagement_tracker" block: the two metadata options of spec §F9.2–F9.3, and the HTTP listener that
/// answers tracked links (docs/tracking-links.md, "The tracker").
/// </summary>
public sealed class EngagementTrackerOptions
{
    [ConfigurationKeyName("click_tracking_include_metadata")]
    public bool ClickTrackingIncludeMetadata { get; set; } = true;

    [ConfigurationKeyName("max_metadata_len")]
    public int MaxMetadataLen { get; set; } = 1000;

    /// <summary>address:port of the tracker's HTTP listener; Momentum's default tracking_domain is localhost:8080.</summary>
    [ConfigurationKeyName("listen")]
    public string Listen { get; set; } = "127.0.0.1:8080";

    /// <summary>"none" (plain HTTP, default), "self-signed", or the path of a PEM or PKCS#12 certificate: as a listener's.</summary>
    [ConfigurationKeyName("tls")]
    public string Tls { get; set; } = "none";

    [ConfigurationKeyName("tls_key")]
    public string? TlsKey { get; set; }

    [ConfigurationKeyName("tls_password")]
    public string? TlsPassword { get; set; }

    /// <summary>Proxies (CIDRs) whose X-Forwarded-For / X-Real-IP is believed for the client's address.</summary>
    [ConfigurationKeyName("trusted_proxies")]
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Events one client address may record per minute (token bucket, burst of the same size); 0 turns it off.</summary>
    [ConfigurationKeyName("rate_limit_per_minute")]
    public int RateLimitPerMinute { get; set; } = 600;

    /// <summary>Client addresses the rate limiter remembers at most (about 100 bytes each).</summary>
    [ConfigurationKeyName("rate_limit_clients")]
    public int RateLimitClients { get; set; } = 100_000;

    /// <summary>Recipients whose engagement the classifier remembers at most (least recently seen forgotten first).</summary>
    [ConfigurationKeyName("recipient_state_entries")]
    public int RecipientStateEntries { get; set; } = 100_000;

    /// <summary>Longest request line (method, target, version) in bytes; longer gets 414.</summary>
    [ConfigurationKeyName("max_request_line_size")]
    public int MaxRequestLineSize { get; set; } = 16 * 1024;

    /// <summary>Most bytes of all request headers together; more gets 431.</summary>
    [ConfigurationKeyName("max_request_headers_total_size")]
    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    /// <summary>Most request header fields; more gets 431.</summary>
    [ConfigurationKeyName("max_request_header_count")]
    public int MaxRequestHeaderCount { get; set; } = 64;

    /// <summary>Seconds from a request's first byte (or a TLS connection's accept) to the end of its headers; then 408 and close (slowloris).</summary>
    [ConfigurationKeyName("request_headers_timeout_seconds")]
    public int RequestHeadersTimeoutSeconds { get; set; } = 30;

    /// <summary>Seconds an open connection may wait for its next request before it is closed.</summary>
    [ConfigurationKeyName("keep_alive_timeout_seconds")]
    public int KeepAliveTimeoutSeconds { get; set; } = 120;

    /// <summary>Connections open at once; past it a new one is accepted and closed at once (beacon.tracker.connections_refused).</summary>
    [ConfigurationKeyName("max_connections")]
    public int MaxConnections { get; set; } = 10_000;
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
