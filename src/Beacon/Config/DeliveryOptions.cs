using Microsoft.Extensions.Configuration;

namespace Beacon.Config;

/// <summary>The "delivery" block (docs/configuration.md): where accepted mail goes, how often it is retried.</summary>
public sealed class DeliveryOptions
{
    /// <summary>"capture" (default: rendered copies are kept in data_dir/capture, nothing leaves the machine),
    /// "mx" (the recipient domain's MX hosts) or "smarthost" (every message to <see cref="RouteOptions.Smarthost"/>).</summary>
    [ConfigurationKeyName("mode")]
    public string Mode { get; set; } = "capture";

    /// <summary>Accept and spool, but deliver nothing until a start without it (like Postfix's hold queue, for
    /// maintenance or a staging node). `beacon queue list` shows what waits.</summary>
    [ConfigurationKeyName("suspended")]
    public bool Suspended { get; set; }

    /// <summary>"host:port" (or "[IPv6]:port") of the relay used in smarthost mode.</summary>
    [ConfigurationKeyName("smarthost")]
    public string? Smarthost { get; set; }

    /// <summary>The TCP port of MX hosts; 25 on the Internet.</summary>
    [ConfigurationKeyName("port")]
    public int Port { get; set; } = 25;

    /// <summary>"opportunistic" (STARTTLS when offered, certificate not checked, as MTAs do), "required" (no
    /// STARTTLS → the attempt fails and is retried), "verify" (required, and the certificate must be valid for the
    /// host name) or "none".</summary>
    [ConfigurationKeyName("tls")]
    public string Tls { get; set; } = "opportunistic";

    /// <summary>AUTH user name for the smarthost (AUTH only over TLS unless tls is "none").</summary>
    [ConfigurationKeyName("username")]
    public string? Username { get; set; }

    [ConfigurationKeyName("password")]
    public string? Password { get; set; }

    /// <summary>The name Beacon gives in EHLO; defaults to the node name (or "localhost" when that isn't a host name).</summary>
    [ConfigurationKeyName("helo_name")]
    public string? HeloName { get; set; }

    /// <summary>DNS servers for MX lookups as "address:port" (default: the system's resolvers).</summary>
    [ConfigurationKeyName("dns_servers")]
    public List<string> DnsServers { get; set; } = [];

    /// <summary>Connections open at once to one destination (a domain's MX hosts, or the smarthost).</summary>
    [ConfigurationKeyName("max_connections")]
    public int MaxConnections { get; set; } = 20;

    /// <summary>Transactions sent over one connection before it is closed and a new one opened.</summary>
    [ConfigurationKeyName("max_messages_per_connection")]
    public int MaxMessagesPerConnection { get; set; } = 100;

    /// <summary>Seconds an idle connection is kept open for the next message to the same destination.</summary>
    [ConfigurationKeyName("idle_timeout")]
    public int IdleTimeout { get; set; } = 2;

    [ConfigurationKeyName("connect_timeout")]
    public int ConnectTimeout { get; set; } = 30;

    /// <summary>Seconds to wait for any one reply (RFC 5321 §4.5.3.2 asks for 5 minutes; 10 for the end of DATA).</summary>
    [ConfigurationKeyName("command_timeout")]
    public int CommandTimeout { get; set; } = 300;

    [ConfigurationKeyName("retry")]
    public RetryOptions Retry { get; set; } = new();

    /// <summary>Send an RFC 3464 delivery status notification to the sender when a recipient bounces.</summary>
    [ConfigurationKeyName("dsn")]
    public bool Dsn { get; set; }

    /// <summary>Seconds shutdown waits for deliveries in flight; what is left is retried after the next start.</summary>
    [ConfigurationKeyName("shutdown_timeout")]
    public int ShutdownTimeout { get; set; } = 30;

    /// <summary>Overrides for single recipient domains: mode, smarthost, port, tls, limits.</summary>
    [ConfigurationKeyName("domains")]
    public List<DomainRouteOptions> Domains { get; set; } = [];

    /// <summary>DKIM keys: every copy whose From domain (or a parent with sign_subdomains) has keys is signed (docs/delivery.md#dkim).</summary>
    [ConfigurationKeyName("dkim")]
    public List<DkimKeyOptions> Dkim { get; set; } = [];

    internal static readonly string[] Modes = ["capture", "mx", "smarthost"];

    internal static readonly string[] TlsModes = ["opportunistic", "required", "verify", "none"];

    internal void Validate(List<string> errors)
    {
        CheckRoute(errors, "delivery", Mode, Smarthost, Port, Tls);
        foreach (var (key, value) in new (string, long)[]
        {
            ("max_connections", MaxConnections), ("max_messages_per_connection", MaxMessagesPerConnection),
            ("idle_timeout", IdleTimeout), ("connect_timeout", ConnectTimeout), ("command_timeout", CommandTimeout),
            ("shutdown_timeout", ShutdownTimeout), ("retry:initial_interval", Retry.InitialInterval),
            ("retry:max_interval", Retry.MaxInterval), ("retry:max_age", Retry.MaxAge),
        })
        {
            if (value <= 0)
            {
                errors.Add($"delivery:{key}: must be a positive number, not {value}");
            }
        }

        if (Retry.Factor < 1)
        {
            errors.Add($"delivery:retry:factor: must be 1 or more, not {Retry.Factor}");
        }

        for (var i = 0; i < DnsServers.Count; i++)
        {
            if (!ConfigLoader.TryParseEndpoint(DnsServers[i], out _))
            {
                errors.Add($"delivery:dns_servers:{i}: '{DnsServers[i]}' is not address:port");
            }
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Domains.Count; i++)
        {
            var domain = Domains[i];
            var key = $"delivery:domains:{i}";
            if (!Smtp.Mailbox.IsDomain(domain.Domain) || !seen.Add(domain.Domain))
            {
                errors.Add($"{key}:domain: '{domain.Domain}' must be a domain name, listed once");
            }

            CheckRoute(errors, key, domain.Mode ?? Mode, domain.Smarthost ?? Smarthost, domain.Port ?? Port, domain.Tls ?? Tls);
            if (domain.MaxConnections is <= 0)
            {
                errors.Add($"{key}:max_connections: must be a positive number, not {domain.MaxConnections}");
            }
        }

        ValidateDkim(errors);
    }

    /// <summary>Loads the keys once and throws them away, so `beacon config check` reports an unreadable or malformed
    /// key file as `run` would; the server loads them again for itself.</summary>
    private void ValidateDkim(List<string> errors)
    {
        if (Dkim.Count == 0)
        {
            return;
        }

        try
        {
            Delivery.DkimSigning.Load(Dkim).Dispose();
        }
        catch (ConfigException e)
        {
            errors.AddRange(e.Errors);
        }
    }

    private static void CheckRoute(List<string> errors, string key, string mode, string? smarthost, int port, string tls)
    {
        if (!Modes.Contains(mode))
        {
            errors.Add($"{key}:mode: must be one of {string.Join(", ", Modes)}, not '{mode}'");
        }
        else if (mode == "smarthost" && !Queue.NextHop.TryParse(smarthost, out _))
        {
            errors.Add($"{key}:smarthost: '{smarthost}' is not host:port (needed in smarthost mode)");
        }

        if (port is <= 0 or > 65535)
        {
            errors.Add($"{key}:port: must be a TCP port, not {port}");
        }

        if (!TlsModes.Contains(tls))
        {
            errors.Add($"{key}:tls: must be one of {string.Join(", ", TlsModes)}, not '{tls}'");
        }
    }
}

/// <summary>The retry schedule of temporary failures (4xx, no connection, DNS trouble).</summary>
public sealed class RetryOptions
{
    /// <summary>Seconds before the first retry.</summary>
    [ConfigurationKeyName("initial_interval")]
    public int InitialInterval { get; set; } = 60;

    /// <summary>Each wait is the previous one times this factor, up to <see cref="MaxInterval"/>.</summary>
    [ConfigurationKeyName("factor")]
    public double Factor { get; set; } = 2;

    [ConfigurationKeyName("max_interval")]
    public int MaxInterval { get; set; } = 3600;

    /// <summary>Seconds after injection when a recipient still failing temporarily bounces (3 days).</summary>
    [ConfigurationKeyName("max_age")]
    public int MaxAge { get; set; } = 259_200;
}

/// <summary>One recipient domain's own route; unset keys take the global delivery values.</summary>
public sealed class DomainRouteOptions
{
    [ConfigurationKeyName("domain")]
    public string Domain { get; set; } = string.Empty;

    [ConfigurationKeyName("mode")]
    public string? Mode { get; set; }

    [ConfigurationKeyName("smarthost")]
    public string? Smarthost { get; set; }

    [ConfigurationKeyName("port")]
    public int? Port { get; set; }

    [ConfigurationKeyName("tls")]
    public string? Tls { get; set; }

    [ConfigurationKeyName("max_connections")]
    public int? MaxConnections { get; set; }
}
