using Beacon.Config;

namespace Beacon.Events;

/// <summary>Opens the store events.store names: SQLite in the data dir (default), or a shared PostgreSQL.</summary>
public static class EventStores
{
    public static async Task<IEventStore> OpenAsync(BeaconOptions options, TimeProvider time, CancellationToken cancellation) =>
        options.Events.Store == "postgres"
            ? await PostgresEventStore.OpenAsync(options.Events.ConnectionString, cancellation).ConfigureAwait(false)
            : SqliteEventStore.Open(options.DataDir, options.Events.ConnectionString, time);
}
