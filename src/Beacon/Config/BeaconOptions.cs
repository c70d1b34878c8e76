using Microsoft.Extensions.Configuration;

namespace Beacon.Config;

/// <summary>The whole configuration (docs/configuration.md). Keys are snake_case, as Momentum's options are.</summary>
public sealed class BeaconOptions
{
    /// <summary>Names this node in message ids and events; several nodes sharing a store need distinct names.</summary>
    [ConfigurationKeyName("node_name")]
    public string NodeName { get; set; } = Environment.MachineName;

    [ConfigurationKeyName("data_dir")]
    public string DataDir { get; set; } = "./beacon-data";

    [ConfigurationKeyName("smtp")]
    public SmtpOptions Smtp { get; set; } = new();

    [ConfigurationKeyName("spool")]
    public SpoolOptions Spool { get; set; } = new();

    /// <summary>Global smtpapi options; engagement_tracker holds the two metadata options.</summary>
    [ConfigurationKeyName("smtpapi")]
    public SmtpapiScope Smtpapi { get; set; } = new();

    [ConfigurationKeyName("engagement_tracker")]
    public EngagementTrackerOptions EngagementTracker { get; set; } = new();

    [ConfigurationKeyName("policy")]
    public PolicyOptions Policy { get; set; } = new();

    /// <summary>Webhook consumers (docs/webhooks.md); webhooks_file adds more in Momentum's format.</summary>
    [ConfigurationKeyName("webhooks")]
    public List<Webhooks.WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>A JSON array of webhooks (Momentum's webhooks.json), added to <see cref="Webhooks"/>.</summary>
    [ConfigurationKeyName("webhooks_file")]
    public string? WebhooksFile { get; set; }

    [ConfigurationKeyName("delivery")]
    public DeliveryOptions Delivery { get; set; } = new();

    [ConfigurationKeyName("events")]
    public EventsOptions Events { get; set; } = new();

    [ConfigurationKeyName("api")]
    public ApiOptions Api { get; set; } = new();
}

public sealed class SmtpOptions
{
    [ConfigurationKeyName("listeners")]
    public List<ListenerOptions> Listeners { get; set; } = [];
}

public sealed class SpoolOptions
{
    /// <summary>Seconds shutdown waits for connections to close after telling them 421 4.3.2 (a transaction in
    /// progress is abandoned, never half-accepted); then they are cut.</summary>
    [ConfigurationKeyName("shutdown_timeout")]
    public int ShutdownTimeout { get; set; } = 10;
}

public sealed class ListenerOptions
{
    [ConfigurationKeyName("name")]
    public string Name { get; set; } = "default";

    /// <summary>address:port; IPv6 as [::1]:2525.</summary>
    [ConfigurationKeyName("listen")]
    public string Listen { get; set; } = "127.0.0.1:2525";

    /// <summary>The name in the greeting, the EHLO reply and Received headers. Defaults to the node name.</summary>
    [ConfigurationKeyName("hostname")]
    public string? Hostname { get; set; }

    /// <summary>"none" (default), "self-signed", or the path of a PEM or PKCS#12 certificate.</summary>
    [ConfigurationKeyName("tls")]
    public string Tls { get; set; } = "none";

    /// <summary>The PEM private key file when <see cref="Tls"/> names a PEM certificate without its key.</summary>
    [ConfigurationKeyName("tls_key")]
    public string? TlsKey { get; set; }

    /// <summary>Password of a PKCS#12 certificate or an encrypted PEM key.</summary>
    [ConfigurationKeyName("tls_password")]
    public string? TlsPassword { get; set; }

    [ConfigurationKeyName("auth")]
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Peers allowed to inject without AUTH (default loopback; ["none"] for nobody). Anyone else must
    /// authenticate or gets 550 5.7.1.</summary>
    [ConfigurationKeyName("relay_from")]
    public List<string> RelayFrom { get; set; } = [];

    /// <summary>Optional extensions to advertise: PIPELINING, 8BITMIME, SMTPUTF8, CHUNKING, and XSETCONTEXT (off unless
    /// listed; offered only to relay_from peers). SIZE,
    /// ENHANCEDSTATUSCODES, STARTTLS (with TLS) and AUTH (with users) are always offered.</summary>
    [ConfigurationKeyName("extensions")]
    public List<string> Extensions { get; set; } = [];

    [ConfigurationKeyName("limits")]
    public LimitOptions Limits { get; set; } = new();

    /// <summary>smtpapi options for every client of this listener.</summary>
    [ConfigurationKeyName("smtpapi")]
    public SmtpapiScope Smtpapi { get; set; } = new();

    /// <summary>smtpapi options for clients inside a CIDR; the longest matching prefix wins.</summary>
    [ConfigurationKeyName("peers")]
    public List<PeerOptions> Peers { get; set; } = [];
}

public sealed class AuthOptions
{
    [ConfigurationKeyName("users")]
    public List<UserOptions> Users { get; set; } = [];

    /// <summary>Offer AUTH before STARTTLS. Passwords then cross the network in clear text.</summary>
    [ConfigurationKeyName("allow_insecure_auth")]
    public bool AllowInsecureAuth { get; set; }
}

public sealed class UserOptions
{
    [ConfigurationKeyName("username")]
    public string Username { get; set; } = string.Empty;

    /// <summary>"pbkdf2-sha256$iterations$salt$hash" as printed by `beacon auth hash-password`.</summary>
    [ConfigurationKeyName("password_hash")]
    public string PasswordHash { get; set; } = string.Empty;

    /// <summary>Becomes the connection's mo_customer_id context variable and the customer_id of events.</summary>
    [ConfigurationKeyName("customer_id")]
    public string? CustomerId { get; set; }
}

public sealed class LimitOptions
{
    [ConfigurationKeyName("max_message_size")]
    public long MaxMessageSize { get; set; } = 50 * 1024 * 1024;

    [ConfigurationKeyName("max_recipients")]
    public int MaxRecipients { get; set; } = 1000;

    [ConfigurationKeyName("max_errors")]
    public int MaxErrors { get; set; } = 20;

    /// <summary>Longest command line including CRLF. RFC 5321 asks for at least 512; AUTH lines need more.</summary>
    [ConfigurationKeyName("max_line_length")]
    public int MaxLineLength { get; set; } = 2048;

    [ConfigurationKeyName("max_connections")]
    public int MaxConnections { get; set; } = 1000;

    /// <summary>Seconds a client may stay silent between commands.</summary>
    [ConfigurationKeyName("idle_timeout")]
    public int IdleTimeout { get; set; } = 300;

    /// <summary>Seconds from the first byte of a command line to its end (defeats one-byte-a-second clients).</summary>
    [ConfigurationKeyName("command_timeout")]
    public int CommandTimeout { get; set; } = 60;

    /// <summary>Seconds for the whole content of one DATA or one BDAT chunk.</summary>
    [ConfigurationKeyName("data_timeout")]
    public int DataTimeout { get; set; } = 600;
}
