using System.Net;
using Microsoft.Extensions.Configuration;

namespace Beacon.Config;

/// <summary>Where events are kept and for how long (docs/events.md).</summary>
public sealed class EventsOptions
{
    /// <summary>"sqlite": data_dir/events/events.db.</summary>
    [ConfigurationKeyName("store")]
    public string Store { get; set; } = "sqlite";

    /// <summary>For sqlite, an optional Microsoft.Data.Sqlite connection string (e.g. "Data Source=/var/lib/beacon/events.db");
    /// empty means the data directory's file.</summary>
    [ConfigurationKeyName("connection_string")]
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>Events older than this many days are purged (hourly).</summary>
    [ConfigurationKeyName("retention_days")]
    public int RetentionDays { get; set; } = 30;

    /// <summary>During a burst (the journal growing by over 1 MiB a second) the store may fall this many seconds
    /// behind the journal, so the burst's CPU goes to answering; 0 stores at once always.</summary>
    [ConfigurationKeyName("max_index_lag_seconds")]
    public int MaxIndexLagSeconds { get; set; } = 30;
}

/// <summary>The HTTP API (Message Events, Metrics): its own listener, apart from the tracker's.</summary>
public sealed class ApiOptions
{
    [ConfigurationKeyName("listen")]
    public string Listen { get; set; } = "127.0.0.1:8081";

    /// <summary>Accepted API keys, sent as the Authorization header. Empty: no key needed, loopback binds only.</summary>
    [ConfigurationKeyName("keys")]
    public List<string> Keys { get; set; } = [];

    /// <summary>
    /// Why <paramref name="endpoint"/> may not be listened on with these keys, or null. Events carry recipients'
    /// addresses and the dashboard shows the mail: without keys the API answers only on this machine.
    /// </summary>
    public string? ExposureError(IPEndPoint endpoint) => Keys.Count == 0 && !IPAddress.IsLoopback(endpoint.Address)
        ? $"api:listen: '{Listen}' is not a loopback address, and api:keys is empty; set api:keys to listen beyond this machine"
        : null;
}
