using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Beacon.Config;

/// <summary>
/// Builds the configuration from its three sources, later ones winning: the JSON file (comments allowed),
/// BEACON_ environment variables (BEACON_smtp__listeners__0__listen=…) and command-line overrides
/// (--set key=value, --data DIR). Every key is checked against <see cref="BeaconOptions"/>: an unknown key or an
/// invalid value is an error that names the key, and the server refuses to start.
/// </summary>
public static class ConfigLoader
{
    public static IConfigurationRoot Build(string? file, IEnumerable<KeyValuePair<string, string?>> overrides, IDictionary? environment = null)
    {
        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }

        builder.Add(new PrefixedEnvironmentSource(environment ?? Environment.GetEnvironmentVariables(), "BEACON_"));
        builder.AddInMemoryCollection(overrides);
        return builder.Build();
    }

    /// <summary>Binds and validates. On failure <paramref name="errors"/> lists "key: problem" lines.</summary>
    public static BeaconOptions Load(IConfiguration configuration, out List<string> errors)
    {
        errors = [];
        FindUnknownKeys(configuration, typeof(BeaconOptions), string.Empty, errors);
        var options = new BeaconOptions();
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            errors.Add(e.InnerException?.Message ?? e.Message);
            return options;
        }

        ApplyDefaults(options);
        Validate(options, errors);
        return options;
    }

    /// <summary>Reads a file, or the embedded defaults when <paramref name="file"/> is null, and throws on any error.</summary>
    public static BeaconOptions LoadOrThrow(string? file, IEnumerable<KeyValuePair<string, string?>> overrides)
    {
        IConfigurationRoot configuration;
        try
        {
            configuration = Build(file, overrides);
        }
        catch (Exception e) when (e is FormatException or IOException or InvalidDataException)
        {
            throw new ConfigException([$"{file}: {e.InnerException?.Message ?? e.Message}"]);
        }

        var options = Load(configuration, out var errors);
        return errors.Count == 0 ? options : throw new ConfigException(errors);
    }

    private static void ApplyDefaults(BeaconOptions options)
    {
        options.Delivery.HeloName ??= Smtp.Mailbox.IsDomain(options.NodeName) ? options.NodeName : "localhost";
        if (options.Smtp.Listeners.Count == 0)
        {
            options.Smtp.Listeners.Add(new ListenerOptions());
        }

        foreach (var listener in options.Smtp.Listeners)
        {
            listener.Hostname ??= Smtp.Mailbox.IsDomain(options.NodeName) ? options.NodeName : "localhost";
            if (listener.RelayFrom.Count == 0)
            {
                listener.RelayFrom.AddRange(["127.0.0.0/8", "::1/128"]);
            }
            else if (listener.RelayFrom is ["none"])
            {
                listener.RelayFrom.Clear(); // nobody relays without AUTH
            }

            if (listener.Extensions.Count == 0)
            {
                listener.Extensions.AddRange(ListenerExtensions.Default);
            }
        }
    }

    private static void Validate(BeaconOptions options, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(options.NodeName) || options.NodeName.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            errors.Add("node_name: must be a non-empty name without spaces");
        }

        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            errors.Add("data_dir: must not be empty");
        }

        Positive(errors, "spool:shutdown_timeout", options.Spool.ShutdownTimeout);
        options.Delivery.Validate(errors);
        ValidateScope(errors, "smtpapi", options.Smtpapi);
        ValidateTracker(errors, options.EngagementTracker);
        ValidateEvents(errors, options.Events, options.Api);

        Positive(errors, "policy:instruction_budget", options.Policy.InstructionBudget);
        Positive(errors, "policy:memory_limit_mb", options.Policy.MemoryLimitMb);
        if (options.Policy.PoolSize < 0)
        {
            errors.Add($"policy:pool_size: must be 0 (automatic) or more, not {options.Policy.PoolSize}");
        }

        for (var i = 0; i < options.Policy.Scripts.Count; i++)
        {
            if (!File.Exists(options.Policy.Scripts[i]))
            {
                errors.Add($"policy:scripts:{i}: file '{options.Policy.Scripts[i]}' does not exist");
            }
        }
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Smtp.Listeners.Count; i++)
        {
            var listener = options.Smtp.Listeners[i];
            var key = $"smtp:listeners:{i}";
            if (string.IsNullOrWhiteSpace(listener.Name) || !names.Add(listener.Name))
            {
                errors.Add($"{key}:name: must be a unique, non-empty name");
            }

            if (!TryParseEndpoint(listener.Listen, out _))
            {
                errors.Add($"{key}:listen: '{listener.Listen}' is not address:port (IPv6 as [::1]:2525)");
            }

            if (string.IsNullOrWhiteSpace(listener.Hostname) || !Smtp.Mailbox.IsDomain(listener.Hostname))
            {
                errors.Add($"{key}:hostname: '{listener.Hostname}' is not a host name");
            }

            ValidateTls(errors, key, listener.Tls, listener.TlsKey);
            ValidateCidrs(errors, $"{key}:relay_from", listener.RelayFrom);

            for (var j = 0; j < listener.Extensions.Count; j++)
            {
                if (!ListenerExtensions.All.Contains(listener.Extensions[j], StringComparer.OrdinalIgnoreCase))
                {
                    errors.Add($"{key}:extensions:{j}: '{listener.Extensions[j]}' is not one of {string.Join(", ", ListenerExtensions.All)}");
                }
            }

            for (var j = 0; j < listener.Auth.Users.Count; j++)
            {
                var user = listener.Auth.Users[j];
                if (string.IsNullOrEmpty(user.Username))
                {
                    errors.Add($"{key}:auth:users:{j}:username: must not be empty");
                }

                if (!Ingress.PasswordHash.IsWellFormed(user.PasswordHash))
                {
                    errors.Add($"{key}:auth:users:{j}:password_hash: not a hash from `beacon auth hash-password`");
                }
            }

            ValidateScope(errors, $"{key}:smtpapi", listener.Smtpapi);
            for (var j = 0; j < listener.Peers.Count; j++)
            {
                if (!IPNetwork.TryParse(listener.Peers[j].Cidr, out _))
                {
                    errors.Add($"{key}:peers:{j}:cidr: '{listener.Peers[j].Cidr}' is not a CIDR such as 10.0.0.0/8");
                }

                ValidateScope(errors, $"{key}:peers:{j}:smtpapi", listener.Peers[j].Smtpapi);
            }

            var limits = listener.Limits;
            Positive(errors, $"{key}:limits:max_message_size", limits.MaxMessageSize);
            Positive(errors, $"{key}:limits:max_recipients", limits.MaxRecipients);
            Positive(errors, $"{key}:limits:max_errors", limits.MaxErrors);
            Positive(errors, $"{key}:limits:max_connections", limits.MaxConnections);
            Positive(errors, $"{key}:limits:idle_timeout", limits.IdleTimeout);
            Positive(errors, $"{key}:limits:command_timeout", limits.CommandTimeout);
            Positive(errors, $"{key}:limits:data_timeout", limits.DataTimeout);
            if (limits.MaxLineLength < 512)
            {
                errors.Add($"{key}:limits:max_line_length: must be at least 512 (RFC 5321 §4.5.3.1.4)");
            }
        }

        Webhooks.WebhookConfig.LoadAndValidate(options, errors);
    }

    private static void ValidateTracker(List<string> errors, EngagementTrackerOptions tracker)
    {
        const string key = "engagement_tracker";
        if (tracker.MaxMetadataLen < 0)
        {
            errors.Add($"{key}:max_metadata_len: must be 0 or more, not {tracker.MaxMetadataLen}");
        }

        if (!TryParseEndpoint(tracker.Listen, out _))
        {
            errors.Add($"{key}:listen: '{tracker.Listen}' is not address:port (IPv6 as [::1]:8080)");
        }

        ValidateTls(errors, key, tracker.Tls, tracker.TlsKey);
        ValidateCidrs(errors, $"{key}:trusted_proxies", tracker.TrustedProxies);
        if (tracker.RateLimitPerMinute < 0)
        {
            errors.Add($"{key}:rate_limit_per_minute: must be 0 (off) or more, not {tracker.RateLimitPerMinute}");
        }

        Positive(errors, $"{key}:rate_limit_clients", tracker.RateLimitClients);
        Positive(errors, $"{key}:recipient_state_entries", tracker.RecipientStateEntries);

        // Below these, ordinary browsers (long cookies, long links) would be refused.
        AtLeast(errors, $"{key}:max_request_line_size", tracker.MaxRequestLineSize, 1024);
        AtLeast(errors, $"{key}:max_request_headers_total_size", tracker.MaxRequestHeadersTotalSize, 4096);
        AtLeast(errors, $"{key}:max_request_header_count", tracker.MaxRequestHeaderCount, 16);
        Positive(errors, $"{key}:request_headers_timeout_seconds", tracker.RequestHeadersTimeoutSeconds);
        Positive(errors, $"{key}:keep_alive_timeout_seconds", tracker.KeepAliveTimeoutSeconds);
        Positive(errors, $"{key}:max_connections", tracker.MaxConnections);
    }

    private static void ValidateEvents(List<string> errors, EventsOptions events, ApiOptions api)
    {
        if (events.Store is not ("sqlite" or "postgres"))
        {
            errors.Add($"events:store: must be \"sqlite\" or \"postgres\", not '{events.Store}'");
        }
        else if (events.Store == "postgres" && string.IsNullOrWhiteSpace(events.ConnectionString))
        {
            errors.Add("events:connection_string: an Npgsql connection string is required with \"postgres\"");
        }

        Positive(errors, "events:retention_days", events.RetentionDays);
        if (events.MaxIndexLagSeconds < 0)
        {
            errors.Add($"events:max_index_lag_seconds: must be 0 or more, not {events.MaxIndexLagSeconds}");
        }

        if (!TryParseEndpoint(api.Listen, out var endpoint))
        {
            errors.Add($"api:listen: '{api.Listen}' is not address:port (IPv6 as [::1]:8081)");
        }
        else if (api.ExposureError(endpoint!) is { } exposure)
        {
            errors.Add(exposure);
        }

        for (var i = 0; i < api.Keys.Count; i++)
        {
            if (api.Keys[i].Length < 16 || api.Keys[i].Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                errors.Add($"api:keys:{i}: must be at least 16 characters without spaces");
            }
        }
    }

    private static void ValidateTls(List<string> errors, string key, string tls, string? tlsKey)
    {
        if (tls is not ("none" or "self-signed") && !File.Exists(tls))
        {
            errors.Add($"{key}:tls: must be \"none\", \"self-signed\" or an existing certificate file, not '{tls}'");
        }

        if (tlsKey is not null && !File.Exists(tlsKey))
        {
            errors.Add($"{key}:tls_key: file '{tlsKey}' does not exist");
        }
    }

    private static void ValidateCidrs(List<string> errors, string key, List<string> cidrs)
    {
        for (var j = 0; j < cidrs.Count; j++)
        {
            if (!IPNetwork.TryParse(cidrs[j], out _))
            {
                errors.Add($"{key}:{j}: '{cidrs[j]}' is not a CIDR such as 10.0.0.0/8");
            }
        }
    }

    private static void AtLeast(List<string> errors, string key, long value, long minimum)
    {
        if (value < minimum)
        {
            errors.Add($"{key}: must be at least {minimum}, not {value}");
        }
    }

    /// <summary>Schemes are lower-cased (Momentum MO-4022) and must be http or https; expiry must be positive.</summary>
    private static void ValidateScope(List<string> errors, string key, SmtpapiScope scope)
    {
        scope.OpenTrackingScheme = scope.OpenTrackingScheme?.ToLowerInvariant();
        scope.ClickTrackingScheme = scope.ClickTrackingScheme?.ToLowerInvariant();
        foreach (var (name, scheme) in new[] { ("open_tracking_scheme", scope.OpenTrackingScheme), ("click_tracking_scheme", scope.ClickTrackingScheme) })
        {
            if (scheme is not null and not ("http" or "https"))
            {
                errors.Add($"{key}:{name}: must be http or https, not '{scheme}'");
            }
        }

        if (scope.TrackingDomain is not null && !Smtpapi.TrackingDomain.IsValid(scope.TrackingDomain))
        {
            errors.Add($"{key}:tracking_domain: '{scope.TrackingDomain}' is not host or host:port");
        }

        if (scope.TrackingLinkExpiry is <= 0)
        {
            errors.Add($"{key}:tracking_link_expiry: must be a positive number of seconds, not {scope.TrackingLinkExpiry}");
        }

        if (scope.MaxMetadataLen is < 0)
        {
            errors.Add($"{key}:max_metadata_len: must be 0 or more, not {scope.MaxMetadataLen}");
        }
    }

    private static void Positive(List<string> errors, string key, long value)
    {
        if (value <= 0)
        {
            errors.Add($"{key}: must be a positive number, not {value}");
        }
    }

    /// <summary>"address:port" with an explicit port (0 picks a free one); an IPv6 address in brackets.</summary>
    public static bool TryParseEndpoint(string text, out IPEndPoint? endpoint)
    {
        endpoint = null;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1 || !text[(colon + 1)..].All(char.IsAsciiDigit))
        {
            return false;
        }

        var host = text[..colon];
        if (host.Contains(':') && !(host.StartsWith('[') && host.EndsWith(']')))
        {
            return false;
        }

        return IPEndPoint.TryParse(text, out endpoint);
    }

    /// <summary>Walks the configuration tree beside the options type and reports keys no property takes.</summary>
    private static void FindUnknownKeys(IConfiguration section, Type type, string path, List<string> errors)
    {
        foreach (var child in section.GetChildren())
        {
            var childPath = path.Length == 0 ? child.Key : $"{path}:{child.Key}";
            var property = type.GetProperties().FirstOrDefault(p =>
                string.Equals(p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                errors.Add($"{childPath}: unknown key");
                continue;
            }

            var propertyType = property.PropertyType;
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(List<>))
            {
                var element = propertyType.GetGenericArguments()[0];
                foreach (var item in child.GetChildren())
                {
                    if (!int.TryParse(item.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                    {
                        errors.Add($"{childPath}:{item.Key}: expected a list");
                    }
                    else if (IsSection(element))
                    {
                        FindUnknownKeys(item, element, $"{childPath}:{item.Key}", errors);
                    }
                }
            }
            else if (propertyType == typeof(Dictionary<string, string>))
            {
                // Free-form names (custom_headers): only the values' shape is checked.
                foreach (var item in child.GetChildren().Where(item => item.GetChildren().Any()))
                {
                    errors.Add($"{childPath}:{item.Key}: expected a single value, not an object or list");
                }
            }
            else if (IsSection(propertyType))
            {
                FindUnknownKeys(child, propertyType, childPath, errors);
            }
            else if (child.GetChildren().Any())
            {
                errors.Add($"{childPath}: expected a single value, not an object or list");
            }
            else if (!IsConvertible(child.Value, propertyType))
            {
                // The binder swallows conversion errors inside lists, so every value is checked here.
                errors.Add($"{childPath}: '{child.Value}' is not {Describe(propertyType)}");
            }
        }
    }

    private static bool IsConvertible(string? value, Type type)
    {
        if (value is null || type == typeof(string))
        {
            return true;
        }

        var target = Nullable.GetUnderlyingType(type) ?? type;
        try
        {
            TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception e) when (e is FormatException or NotSupportedException or ArgumentException or OverflowException)
        {
            return false;
        }
    }

    private static string Describe(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(bool) => "true or false",
        var t when t == typeof(int) || t == typeof(long) => "a whole number",
        var t => $"a valid {t.Name}",
    };

    private static bool IsSection(Type type) => type.IsClass && type != typeof(string);
}

public sealed class ConfigException(IReadOnlyList<string> errors)
    : Exception("invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

public static class ListenerExtensions
{
    /// <summary>Advertised when a listener lists none.</summary>
    public static readonly string[] Default = ["PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING"];

    /// <summary>XSETCONTEXT lets a client set context variables: only where listed, only for relay_from peers.</summary>
    public static readonly string[] All = [.. Default, "XSETCONTEXT"];
}
