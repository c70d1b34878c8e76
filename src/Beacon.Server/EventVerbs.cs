using System.Globalization;
using System.Text.Json;
using Beacon.Config;
using Beacon.Events;

namespace Beacon.Server;

/// <summary>
/// `beacon events tail`: prints the last events, then every new one as it is stored, until interrupted. It reads
/// the store by sequence, polling (SQLite's WAL lets this process read while `beacon run` writes), so it works
/// beside a running server, or after one, and never holds the data directory's lock.
/// </summary>
internal static class EventVerbs
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static async Task<int> TailAsync(Verbs.Source source, string[] typeNames, bool json, int lines, TextWriter output, CancellationToken cancellation)
    {
        if (!Verbs.TryLoad(source, out var options))
        {
            return 1;
        }

        HashSet<EventType>? types = null;
        foreach (var name in typeNames.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!EventTypes.TryParse(name, out var type))
            {
                await Console.Error.WriteLineAsync($"beacon: '{name}' is not an event type ({string.Join(", ", Enum.GetValues<EventType>().Select(t => t.Name()))})").ConfigureAwait(false);
                return 2;
            }

            (types ??= []).Add(type);
        }

        await using var store = await EventStores.OpenAsync(options, TimeProvider.System, cancellation).ConfigureAwait(false);
        try
        {
            // The backlog: the last `lines` events (of these types), printed oldest first.
            var last = await store.SearchAsync(new EventQuery { Types = types, PerPage = Math.Max(lines, 1) }, cancellation).ConfigureAwait(false);
            var after = last.Events.Count == 0 ? 0 : last.Events[0].Sequence;
            if (lines > 0)
            {
                foreach (var item in last.Events.Reverse())
                {
                    await output.WriteLineAsync(Format(item, json)).ConfigureAwait(false);
                }
            }

            await output.FlushAsync(cancellation).ConfigureAwait(false);
            while (!cancellation.IsCancellationRequested)
            {
                var next = await store.ReadAfterAsync(after, 1000, types, cancellation).ConfigureAwait(false);
                foreach (var item in next)
                {
                    await output.WriteLineAsync(Format(item, json)).ConfigureAwait(false);
                    after = item.Sequence;
                }

                await output.FlushAsync(cancellation).ConfigureAwait(false);
                if (next.Count < 1000)
                {
                    await Task.Delay(Poll, cancellation).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    /// <summary>--json: the event as stored, one per line. Otherwise: time, sequence, type, message, recipient,
    /// and what matters for the type (campaign, link, bounce reason, classification).</summary>
    private static string Format(StoredEvent item, bool json)
    {
        if (json)
        {
            return item.Json;
        }

        using var document = JsonDocument.Parse(item.Json);
        var fields = document.RootElement.GetProperty("msys").EnumerateObject().First().Value;
        string? Field(string name) => fields.TryGetProperty(name, out var value) ? value.ToString() : null;
        var extra = string.Join(' ', new[]
        {
            item.CampaignId is null ? null : $"campaign={item.CampaignId}",
            Field("target_link_url") is { } url ? $"url={url}" : null,
            Field("classification") is { } classification ? $"classification={classification}" : null,
            Field("raw_reason") is { } reason ? $"reason=\"{reason}\"" : null,
        }.Where(s => s is not null));
        return string.Create(CultureInfo.InvariantCulture,
            $"{item.Timestamp.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}  #{item.Sequence,-8} {item.Type.Name(),-20} {item.MessageId ?? "-",-20}  {item.Recipient ?? "-"}  {extra}").TrimEnd();
    }
}
