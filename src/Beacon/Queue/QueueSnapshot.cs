namespace Beacon.Queue;

/// <summary>
/// The delivery queue at one moment, for the dashboard's queue view (GET /api/v1/queues). Built from copies
/// (the ready queues enumerate snapshots, the deferred items are copied under the timer lock), so taking one
/// never blocks delivery; the numbers of different destinations may be a few milliseconds apart.
/// </summary>
public sealed record QueueSnapshot(int Messages, int Deferred, IReadOnlyList<DestinationSnapshot> Destinations)
{
    internal static QueueSnapshot Take(int messages, IEnumerable<DestinationQueue> running, IReadOnlyList<WorkItem> deferred)
    {
        var byKey = new Dictionary<string, Tally>(StringComparer.Ordinal);
        foreach (var destination in running)
        {
            var tally = new Tally(destination.Route) { Workers = destination.Workers };
            foreach (var item in destination.ReadyItems)
            {
                tally.Ready++;
                tally.Messages.Add(item.Message.MessageId);
            }

            byKey[destination.Route.Key] = tally;
        }

        // A destination whose every item waits for a retry has no DestinationQueue until the first one is due.
        foreach (var item in deferred)
        {
            if (!byKey.TryGetValue(item.Route.Key, out var tally))
            {
                byKey[item.Route.Key] = tally = new Tally(item.Route);
            }

            tally.Deferred++;
            tally.Messages.Add(item.Message.MessageId);
        }

        var destinations = byKey.Values
            .Select(d => new DestinationSnapshot(d.Route.Key, d.Route.Kind, d.Messages.Count, d.Ready, d.Deferred, d.Workers, d.Route.MaxConnections))
            .OrderByDescending(d => d.Messages).ThenBy(d => d.Destination, StringComparer.Ordinal)
            .ToList();
        return new QueueSnapshot(messages, deferred.Count, destinations);
    }

    private sealed class Tally(Route route)
    {
        public Route Route { get; } = route;

        public int Ready { get; set; }

        public int Deferred { get; set; }

        public int Workers { get; init; }

        public HashSet<string> Messages { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>One destination queue: <paramref name="Messages"/> distinct messages with recipients there;
/// <paramref name="Ready"/> work items waiting for a worker; <paramref name="Deferred"/> waiting for their retry time.</summary>
public sealed record DestinationSnapshot(string Destination, RouteKind Kind, int Messages, int Ready, int Deferred, int Workers, int MaxConnections);
