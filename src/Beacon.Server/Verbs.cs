using System.CommandLine;
using System.Text;
using System.Text.Json;
using Beacon.Config;
using Beacon.Delivery;
using Beacon.Ingress;
using Beacon.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Server;

/// <summary>What each CLI verb does. Exit codes: 0 success, 1 failure (with the reason on standard error), 2 usage.</summary>
internal static class Verbs
{
    public sealed record Source(string? File, List<KeyValuePair<string, string?>> Overrides);

    public static Source Overrides(ParseResult parse, Option<string?> config, Option<string?> data, Option<string[]> set)
    {
        var overrides = new List<KeyValuePair<string, string?>>();
        foreach (var item in parse.GetValue(set) ?? [])
        {
            var equals = item.IndexOf('=');
            overrides.Add(equals <= 0 ? new(item, null) : new(item[..equals], item[(equals + 1)..]));
        }

        if (parse.GetValue(data) is { } dataDir)
        {
            overrides.Add(new("data_dir", dataDir));
        }

        return new Source(parse.GetValue(config), overrides);
    }

    public static async Task<int> RunAsync(Source source)
    {
        BeaconServer server;
        try
        {
            server = await BeaconServer.StartAsync(ConfigLoader.LoadOrThrow(source.File, source.Overrides), consoleLifetime: true).ConfigureAwait(false);
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync($"beacon: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (Links.KeyringException e)
        {
            await Console.Error.WriteLineAsync($"beacon: cannot start: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (IOException e)
        {
            // Typically an address already in use.
            await Console.Error.WriteLineAsync($"beacon: cannot start: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await server.WaitForShutdownAsync().ConfigureAwait(false);
        await server.StopAsync().ConfigureAwait(false);
        return 0;
    }

    public static int CheckConfig(Source source, string? listenerName, string? peer, bool json)
    {
        BeaconOptions options;
        try
        {
            options = ConfigLoader.LoadOrThrow(source.File, source.Overrides);
        }
        catch (ConfigException e)
        {
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { ok = false, file = source.File, errors = e.Errors }));
            }
            else
            {
                Console.Error.WriteLine($"beacon: {ConsoleStyle.Error.Bad("invalid configuration")}:");
                foreach (var error in e.Errors)
                {
                    Console.Error.WriteLine($"  {(ConsoleStyle.Error.Enabled ? ConsoleStyle.Error.Bad("✗ ") : string.Empty)}{error}");
                }
            }

            return 1;
        }

        if (listenerName is not null || peer is not null)
        {
            return ShowEffective(options, listenerName, peer, json);
        }

        var tracker = options.EngagementTracker;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                ok = true,
                file = source.File,
                node_name = options.NodeName,
                data_dir = Path.GetFullPath(options.DataDir),
                listeners = options.Smtp.Listeners.Select(l => new
                {
                    name = l.Name,
                    listen = l.Listen,
                    hostname = l.Hostname,
                    tls = l.Tls,
                    users = l.Auth.Users.Count,
                    allow_insecure_auth = l.Auth.AllowInsecureAuth,
                    relay_from = l.RelayFrom,
                    max_message_size = l.Limits.MaxMessageSize,
                }),
                tracker = new { listen = tracker.Listen, tls = tracker.Tls, trusted_proxies = tracker.TrustedProxies, rate_limit_per_minute = tracker.RateLimitPerMinute },
                events = new { store = options.Events.Store, path = Events.SqliteEventStore.DefaultPath(options.DataDir), retention_days = options.Events.RetentionDays },
                delivery = new { mode = options.Delivery.Mode, smarthost = options.Delivery.Smarthost, suspended = options.Delivery.Suspended },
                api = new { listen = options.Api.Listen, keys = options.Api.Keys.Count, metrics_path = Api.PrometheusEndpoint.Path },
                webhooks = options.Webhooks.Select(w => w.EffectiveName),
            }));
            return 0;
        }

        var style = ConsoleStyle.Out;
        Console.WriteLine($"{(style.Enabled ? style.Ok("✓ configuration OK") : "configuration OK")}{(source.File is null ? " (embedded defaults)" : $": {source.File}")}");
        Console.WriteLine($"{style.Bold("node_name")}  {options.NodeName}");
        Console.WriteLine($"{style.Bold("data_dir")}   {Path.GetFullPath(options.DataDir)}");
        foreach (var listener in options.Smtp.Listeners)
        {
            var users = listener.Auth.Users.Count;
            Console.WriteLine($"{style.Bold("listener")}   {listener.Name} on {listener.Listen}: hostname {listener.Hostname}, tls {listener.Tls}, " +
                $"{users} user{(users == 1 ? string.Empty : "s")}{(listener.Auth.AllowInsecureAuth ? style.Warn(" (insecure auth allowed)") : string.Empty)}, " +
                $"relay from {(listener.RelayFrom.Count == 0 ? "nobody (AUTH required)" : string.Join(", ", listener.RelayFrom))}, max message {listener.Limits.MaxMessageSize} octets");
        }

        Console.WriteLine($"{style.Bold("tracker")}    on {tracker.Listen}: tls {tracker.Tls}, trusted proxies {(tracker.TrustedProxies.Count == 0 ? "none" : string.Join(", ", tracker.TrustedProxies))}, " +
            $"rate limit {(tracker.RateLimitPerMinute == 0 ? "off" : $"{tracker.RateLimitPerMinute}/min per address")}");
        Console.WriteLine($"{style.Bold("events")}     {options.Events.Store} in {Events.SqliteEventStore.DefaultPath(options.DataDir)}{(options.Events.ConnectionString.Length == 0 ? string.Empty : " (connection_string overrides)")}, kept {options.Events.RetentionDays} days");
        Console.WriteLine($"{style.Bold("api")}        on {options.Api.Listen}: {(options.Api.Keys.Count == 0 ? "no keys (loopback only)" : $"{options.Api.Keys.Count} key{(options.Api.Keys.Count == 1 ? string.Empty : "s")}")}, Prometheus metrics at {Api.PrometheusEndpoint.Path}");
        return 0;
    }

    /// <summary>What one client of one listener gets, and which scope each value comes from.</summary>
    private static int ShowEffective(BeaconOptions options, string? listenerName, string? peer, bool json)
    {
        var listener = options.Smtp.Listeners.FirstOrDefault(l => string.Equals(l.Name, listenerName ?? options.Smtp.Listeners[0].Name, StringComparison.OrdinalIgnoreCase));
        if (listener is null || !System.Net.IPAddress.TryParse(peer ?? "127.0.0.1", out var address))
        {
            Console.Error.WriteLine(listener is null ? $"beacon: no listener named '{listenerName}'" : $"beacon: '{peer}' is not an IP address");
            return 1;
        }

        var effective = new Smtpapi.ScopedSmtpapi(options).Resolve(listener, address);
        var relay = listener.RelayFrom.Any(cidr => System.Net.IPNetwork.Parse(cidr).Contains(address));
        if (json)
        {
            static object Item<T>(Smtpapi.Sourced<T> value) => new { value = value.Value, from = value.Scope };
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["listener"] = listener.Name,
                ["peer"] = address.ToString(),
                ["may_relay"] = relay,
                ["open_tracking_enabled"] = Item(effective.OpenTracking),
                ["click_tracking_enabled"] = Item(effective.ClickTracking),
                ["open_tracking_scheme"] = Item(effective.OpenTrackingScheme),
                ["click_tracking_scheme"] = Item(effective.ClickTrackingScheme),
                ["tracking_domain"] = Item(effective.TrackingDomain),
                ["tracking_link_expiry"] = Item(effective.TrackingLinkExpiry),
                ["click_tracking_include_metadata"] = Item(effective.ClickTrackingIncludeMetadata),
                ["max_metadata_len"] = Item(effective.MaxMetadataLen),
                ["default_customer_id"] = Item(effective.DefaultCustomerId),
            }));
            return 0;
        }

        Console.WriteLine($"listener {listener.Name}, peer {address}: {(relay ? "may relay without AUTH" : "must authenticate to relay")}");
        Console.WriteLine($"{"option",-32}  {"value",-24}  from");
        Row("open_tracking_enabled", effective.OpenTracking);
        Row("click_tracking_enabled", effective.ClickTracking);
        Row("open_tracking_scheme", effective.OpenTrackingScheme);
        Row("click_tracking_scheme", effective.ClickTrackingScheme);
        Row("tracking_domain", effective.TrackingDomain);
        Row("tracking_link_expiry", effective.TrackingLinkExpiry);
        Row("click_tracking_include_metadata", effective.ClickTrackingIncludeMetadata);
        Row("max_metadata_len", effective.MaxMetadataLen);
        Row("default_customer_id", effective.DefaultCustomerId);
        Console.WriteLine("A message's smtpapi_* context variables (policy, XSETCONTEXT) and its X-MSYS-API header override these (docs/x-msys-api.md).");
        return 0;

        static void Row<T>(string name, Smtpapi.Sourced<T> value) =>
            Console.WriteLine($"{name,-32}  {Format(value.Value),-24}  {value.Scope}");

        static string Format(object? value) => value switch
        {
            null => "(unset)",
            bool b => b ? "true" : "false",
            _ => value.ToString()!,
        };
    }

    public static int QueueList(Source source, bool json)
    {
        if (!TryOpenSpool(source, out var spool))
        {
            return 1;
        }

        var messages = spool.List().ToList();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(messages, SpooledMessage.Json));
            return 0;
        }

        // Colour marks the state: green ready now, yellow deferred (a failed attempt, waiting for its retry).
        var style = ConsoleStyle.Out;
        Console.WriteLine(style.Bold($"{"ID",-20}  {"RECEIVED (UTC)",-19}  {"SIZE",9}  {"WAITING",7}  {"NEXT ATTEMPT (UTC)",-19}  FROM"));
        foreach (var m in messages)
        {
            var waiting = m.Recipients.Where(r => r.State == RecipientState.Queued).ToList();
            var next = waiting.Count == 0 ? "-" : waiting.Min(r => r.NextAttemptAt) is { } at ? $"{at.UtcDateTime:yyyy-MM-dd HH:mm:ss}" : "now";
            var deferred = waiting.Any(r => r.LastError is not null);
            var column = $"{next,-19}";
            Console.WriteLine($"{m.MessageId,-20}  {m.ReceivedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {m.Size,9}  {$"{waiting.Count}/{m.Recipients.Count}",7}  {(next == "now" ? style.Ok(column) : deferred ? style.Warn(column) : column)}  <{m.MailFrom}>");
            foreach (var r in waiting.Where(r => r.LastError is not null))
            {
                Console.WriteLine($"    {r.Address}: {style.Warn(r.LastError!)}");
            }
        }

        Console.WriteLine($"{messages.Count} message{(messages.Count == 1 ? string.Empty : "s")}, {messages.Sum(m => m.Recipients.Count(r => r.State == RecipientState.Queued))} recipients waiting");
        return 0;
    }

    public static int QueueCaptured(Source source, bool json)
    {
        if (!TryLoad(source, out var options))
        {
            return 1;
        }

        var copies = new CaptureStore(options.DataDir).List().ToList();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(copies.Select(c => new { path = c.Path, message_id = c.Envelope.MessageId, mail_from = c.Envelope.MailFrom, rcpt_to = c.Envelope.Recipient, captured_at = c.Envelope.CapturedAt })));
            return 0;
        }

        Console.WriteLine($"{"ID",-20}  {"CAPTURED (UTC)",-19}  {"RECIPIENT",-32}  FILE");
        foreach (var (path, envelope) in copies)
        {
            Console.WriteLine($"{envelope.MessageId,-20}  {envelope.CapturedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {envelope.Recipient,-32}  {path}");
        }

        Console.WriteLine($"{copies.Count} captured cop{(copies.Count == 1 ? "y" : "ies")}");
        return 0;
    }

    public static int QueueShow(Source source, string id, bool json)
    {
        if (!TryOpenSpool(source, out var spool))
        {
            return 1;
        }

        if (id.Length != 20 || !id.All(char.IsAsciiHexDigitLower) || spool.TryRead(id) is not { } message)
        {
            Console.Error.WriteLine($"beacon: no queued message {id}");
            return 1;
        }

        var headers = new List<string>();
        using (var body = new StreamReader(spool.OpenBody(message), Encoding.UTF8))
        {
            while (body.ReadLine() is { Length: > 0 } line)
            {
                headers.Add(line);
            }
        }

        if (json)
        {
            // {"message": the spooled metadata as `queue list --json` prints it, "headers": [{"name", "value"}]}.
            var fields = new List<Dictionary<string, string>>();
            foreach (var line in headers)
            {
                if (line[0] is ' ' or '\t' && fields.Count > 0)
                {
                    fields[^1]["value"] += "\r\n" + line;
                }
                else if (line.IndexOf(':') is > 0 and var colon)
                {
                    fields.Add(new() { ["name"] = line[..colon], ["value"] = line[(colon + 1)..].TrimStart() });
                }
            }

            var document = new System.Text.Json.Nodes.JsonObject
            {
                ["message"] = JsonSerializer.SerializeToNode(message, SpooledMessage.Json),
                ["headers"] = JsonSerializer.SerializeToNode(fields),
            };
            Console.WriteLine(document.ToJsonString());
            return 0;
        }

        Console.WriteLine(JsonSerializer.Serialize(message, new JsonSerializerOptions(SpooledMessage.Json) { WriteIndented = true }));
        Console.WriteLine();
        foreach (var line in headers)
        {
            Console.WriteLine(line);
        }

        return 0;
    }

    /// <summary>`beacon queue retry|bounce ID`: through the control socket of a running server, else by marking the
    /// spooled metadata (under the data-dir lock) for the next start.</summary>
    public static async Task<int> QueueCommandAsync(Source source, string verb, string id)
    {
        if (!TryLoad(source, out var options))
        {
            return 1;
        }

        var reply = await ControlSocket.SendAsync(options.DataDir, $"{verb} {id}").ConfigureAwait(false);
        if (reply is not null)
        {
            (reply == "ok" ? Console.Out : Console.Error).WriteLine(reply == "ok" ? $"{id}: {(verb == "retry" ? "retrying now" : "bounced")}" : $"beacon: {reply[7..]}");
            return reply == "ok" ? 0 : 1;
        }

        var spool = new SpoolStore(options.DataDir, NullLogger.Instance);
        FileStream dataLock;
        try
        {
            dataLock = new FileStream(Path.Combine(Path.GetFullPath(options.DataDir), "beacon.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            Console.Error.WriteLine($"beacon: Beacon is running on {options.DataDir} but its control socket does not answer");
            return 1;
        }

        using (dataLock)
        {
            if (id.Length != 20 || !id.All(char.IsAsciiHexDigitLower) || spool.TryRead(id) is not { } message)
            {
                Console.Error.WriteLine($"beacon: no queued message {id}");
                return 1;
            }

            for (var i = 0; i < message.Recipients.Count; i++)
            {
                if (message.Recipients[i].State == RecipientState.Queued)
                {
                    message.Recipients[i] = verb == "retry"
                        ? message.Recipients[i] with { NextAttemptAt = null }
                        : message.Recipients[i] with { BounceRequested = true };
                }
            }

            spool.Update(message);
        }

        Console.WriteLine($"{id}: Beacon is not running; {(verb == "retry" ? "retried" : "bounced")} at the next start");
        return 0;
    }

    public static int HashPassword()
    {
        var password = Console.IsInputRedirected ? Console.In.ReadLine() : ReadHidden();
        if (string.IsNullOrEmpty(password))
        {
            Console.Error.WriteLine("beacon: no password given on standard input");
            return 1;
        }

        Console.WriteLine(PasswordHash.Create(password));
        return 0;
    }

    private static string ReadHidden()
    {
        Console.Error.Write("Password: ");
        var builder = new StringBuilder();
        for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
        {
            if (key.Key == ConsoleKey.Backspace && builder.Length > 0)
            {
                builder.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                builder.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return builder.ToString();
    }

    /// <summary>Loads the configuration of a verb; false (after printing why) when it is invalid.</summary>
    internal static bool TryLoad(Source source, out BeaconOptions options)
    {
        try
        {
            options = ConfigLoader.LoadOrThrow(source.File, source.Overrides);
            return true;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"beacon: {ConsoleStyle.Error.Bad(e.Message)}");
            options = null!;
            return false;
        }
    }

    private static bool TryOpenSpool(Source source, out SpoolStore spool)
    {
        spool = null!;
        if (!TryLoad(source, out var options))
        {
            return false;
        }

        spool = new SpoolStore(options.DataDir, NullLogger.Instance);
        return true;
    }
}
