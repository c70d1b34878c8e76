using System.Globalization;
using System.Text.Json;
using Beacon.Config;
using Beacon.Events;
using Beacon.Webhooks;

namespace Beacon.Server;

/// <summary>`beacon webhooks …` verbs.</summary>
internal static class WebhookVerbs
{
    /// <summary>
    /// Progress (one line per batch, rewritten in place on a terminal) goes to standard error; the summary to
    /// standard output: a line, or with --json one object (docs/cli.md): webhook, target, from, to,
    /// events_matched, events_sent, batches, ok, error.
    /// </summary>
    public static async Task<int> ReplayAsync(Verbs.Source source, string name, string from, string to, bool json, CancellationToken cancellation)
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
        using var progress = ProgressWriter.StandardError();
        var replay = new WebhookReplay(store, hook, client, TimeProvider.System, progress);
        string? error = null;
        try
        {
            await replay.RunAsync(start, end, cancellation).ConfigureAwait(false);
        }
        catch (WebhookReplayException e)
        {
            error = e.Message;
        }

        progress.Finish();
        var style = ConsoleStyle.Out;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                webhook = name,
                target = hook.Target,
                from = start,
                to = end,
                events_matched = replay.Matched,
                events_sent = replay.Sent,
                batches = replay.Batches,
                ok = error is null,
                error,
            }));
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(error is null ? style.Ok("ok") : style.Bad("failed"))}  replay {name}: {replay.Sent} of {replay.Matched} events sent in {replay.Batches} batches to {hook.Target}"));
        }

        if (error is not null)
        {
            await Console.Error.WriteLineAsync(ConsoleStyle.Error.Bad($"beacon: replay {name}: {error}")).ConfigureAwait(false);
            return 1;
        }

        return 0;
    }

    private static bool TryParseTime(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
}
