using System.Globalization;
using Beacon.Config;
using Beacon.Events;
using Beacon.Webhooks;

namespace Beacon.Server;

/// <summary>`beacon webhooks …` verbs.</summary>
internal static class WebhookVerbs
{
    public static async Task<int> ReplayAsync(Verbs.Source source, string name, string from, string to, CancellationToken cancellation)
    {
        if (!Verbs.TryLoad(source, out var options))
        {
            return 1;
        }

        var hook = options.Webhooks.FirstOrDefault(w => w.EffectiveName == name);
        if (hook is null)
        {
            await Console.Error.WriteLineAsync($"beacon: no webhook named '{name}' (configured: {string.Join(", ", options.Webhooks.Select(w => w.EffectiveName))})").ConfigureAwait(false);
            return 1;
        }

        if (!TryParseTime(from, out var start) || !TryParseTime(to, out var end) || end < start)
        {
            await Console.Error.WriteLineAsync("beacon: --from and --to must be ISO 8601 times (e.g. 2026-11-27T10:00:00Z), --from before --to").ConfigureAwait(false);
            return 2;
        }

        await using var store = await EventStores.OpenAsync(options, TimeProvider.System, cancellation).ConfigureAwait(false);
        using var client = new HttpClient();
        try
        {
            await new WebhookReplay(store, hook, client, TimeProvider.System, Console.Out).RunAsync(start, end, cancellation).ConfigureAwait(false);
            return 0;
        }
        catch (WebhookReplayException e)
        {
            await Console.Error.WriteLineAsync($"beacon: replay {name}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static bool TryParseTime(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
}
