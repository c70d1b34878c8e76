using System.Text.Json;
using Beacon.Config;

namespace Beacon.Webhooks;

/// <summary>Reads webhooks_file into the webhooks list and checks every webhook; errors name the key.</summary>
internal static class WebhookConfig
{
    private static readonly JsonSerializerOptions FileFormat = new()
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    public static void LoadAndValidate(BeaconOptions options, List<string> errors)
    {
        if (!string.IsNullOrWhiteSpace(options.WebhooksFile))
        {
            Load(options.WebhooksFile, options.Webhooks, errors);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            Validate(options.Webhooks[i], $"webhooks:{i}", names, errors);
        }
    }

    /// <summary>Momentum's format: a JSON array of webhook objects (comments allowed).</summary>
    internal static void Load(string file, List<WebhookOptions> into, List<string> errors)
    {
        try
        {
            var hooks = JsonSerializer.Deserialize<List<WebhookOptions>>(File.ReadAllText(file), FileFormat);
            into.AddRange(hooks ?? []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            errors.Add($"webhooks_file: '{file}': {e.Message}");
        }
    }

    private static void Validate(WebhookOptions hook, string key, HashSet<string> names, List<string> errors)
    {
        if (!Uri.TryCreate(hook.Target, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
        {
            errors.Add($"{key}:target: '{hook.Target}' is not an http or https URL");
        }

        if (!names.Add(hook.EffectiveName))
        {
            errors.Add($"{key}:name: '{hook.EffectiveName}' is used by another webhook (names the cursor)");
        }

        if (hook.Events.Count == 0)
        {
            errors.Add($"{key}:events: list at least one event type");
        }

        for (var j = 0; j < hook.Events.Count; j++)
        {
            if (!WebhookEvents.IsKnown(hook.Events[j]))
            {
                errors.Add($"{key}:events:{j}: '{hook.Events[j]}' is not an event type");
            }
        }

        foreach (var (name, value) in hook.CustomHeaders)
        {
            if (string.IsNullOrEmpty(name) || name.Any(c => c <= ' ' || c >= 127 || c == ':') || value.Any(c => c is '\r' or '\n'))
            {
                errors.Add($"{key}:custom_headers:{name}: not a valid header name and value");
            }
        }

        for (var j = 0; j < hook.Secrets.Count; j++)
        {
            if (hook.Secrets[j].Length < 16)
            {
                errors.Add($"{key}:secrets:{j}: must be at least 16 characters");
            }
        }

        if (hook.BatchSize <= 0)
        {
            errors.Add($"{key}:batch_size: must be a positive number, not {hook.BatchSize}");
        }

        foreach (var (name, value) in new[] { ("batch_interval", hook.BatchInterval), ("timeout", hook.Timeout), ("retry_base", hook.RetryBase),
            ("retry_max_interval", hook.RetryMaxInterval), ("retry_for", hook.RetryFor) })
        {
            if (!(value > 0) || double.IsInfinity(value))
            {
                errors.Add($"{key}:{name}: must be a positive number of seconds, not {value}");
            }
        }
    }
}
