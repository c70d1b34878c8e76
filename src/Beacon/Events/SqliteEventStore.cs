using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Beacon.Events;

/// <summary>
/// The embedded event store: data_dir/events/events.db, one SQLite database in WAL mode.
/// Design note: one writer (the pipeline's task) appends a batch per transaction; readers (API, metrics, webhooks,
/// `beacon events tail` in another process) open their own pooled connections and never block it, since WAL gives
/// each reader a snapshot. synchronous=FULL: each commit (one batch of up to 1,000 events) is fsynced, so a power
/// loss loses no committed event. Measured affordable (docs/performance.md, Events): the pipeline batches whatever
/// waits, so under load one fsync serves hundreds of events, and when load is light an fsync per event costs nothing
/// anyone waits for (producers never wait for the store). NORMAL would risk the last commits on power loss for
/// no measurable gain. The JSON lives in its own table (event_json, same
/// sequence), so that the metrics' scans of the events table read ~100 bytes a row, not ~600. Sequences use
/// AUTOINCREMENT so that a purge that empties the table never hands out a sequence again: webhook cursors rely
/// on sequences only growing.
/// </summary>
public sealed class SqliteEventStore : IEventStore, IEventMetrics
{
    private readonly string _connectionString;
    private readonly TimeProvider _time;

    private SqliteEventStore(string connectionString, TimeProvider time)
    {
        _connectionString = connectionString;
        _time = time;
    }

    /// <summary>PRAGMA synchronous of the writer: FULL (see above); the benchmark measures NORMAL against it.</summary>
    internal string Synchronous { get; set; } = "FULL";

    /// <summary>The database file, e.g. ./beacon-data/events/events.db.</summary>
    public string Path { get; private init; } = string.Empty;

    public static string DefaultPath(string dataDir) => System.IO.Path.Combine(System.IO.Path.GetFullPath(dataDir), "events", "events.db");

    /// <summary>Opens (creating if needed) the store of a data directory, or the file a connection string names.</summary>
    public static SqliteEventStore Open(string dataDir, string? connectionString = null, TimeProvider? time = null)
    {
        var builder = new SqliteConnectionStringBuilder(string.IsNullOrEmpty(connectionString) ? string.Empty : connectionString);
        if (string.IsNullOrEmpty(builder.DataSource))
        {
            builder.DataSource = DefaultPath(dataDir);
        }

        builder.Mode = SqliteOpenMode.ReadWriteCreate;
        builder.Pooling = true;
        builder.DefaultTimeout = 30; // seconds a statement waits for a lock (busy_timeout)
        var path = System.IO.Path.GetFullPath(builder.DataSource);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var store = new SqliteEventStore(builder.ToString(), time ?? TimeProvider.System) { Path = path };
        store.CreateSchema();
        return store;
    }

    private void CreateSchema()
    {
        using var connection = Connect();
        Execute(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS events (
                sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                type TEXT NOT NULL,
                timestamp INTEGER NOT NULL,
                message_id TEXT,
                transmission_id TEXT,
                campaign_id TEXT,
                rcpt_to TEXT,
                domain TEXT,
                link_name TEXT,
                link_url TEXT,
                classification TEXT);
            CREATE TABLE IF NOT EXISTS event_json (sequence INTEGER PRIMARY KEY, json TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS events_timestamp ON events (timestamp);
            CREATE INDEX IF NOT EXISTS events_message_id ON events (message_id);
            CREATE INDEX IF NOT EXISTS events_transmission_id ON events (transmission_id);
            CREATE INDEX IF NOT EXISTS events_campaign_id ON events (campaign_id, timestamp);
            CREATE INDEX IF NOT EXISTS events_rcpt_to ON events (rcpt_to);
            CREATE INDEX IF NOT EXISTS events_type ON events (type, sequence);
            CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, sequence INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires INTEGER NOT NULL);
            """);
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    public async Task AppendAsync(IReadOnlyList<EventRecord> events, StoreCursor? cursor, CancellationToken cancellation)
    {
        if (events.Count == 0 && cursor is null)
        {
            return;
        }

        await using var connection = Connect();
        // 64 MiB of page cache for the writer (SQLite's default is 2 MiB): the indexes on message_id and rcpt_to
        // take inserts all over their B-trees, and past the cache each one costs page reads (docs/performance.md).
        Execute(connection, (Synchronous == "NORMAL" ? "PRAGMA synchronous = NORMAL;" : "PRAGMA synchronous = FULL;") + " PRAGMA cache_size = -65536");
        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO events (type, timestamp, message_id, transmission_id, campaign_id, rcpt_to, domain, link_name, link_url, classification)
            VALUES ($type, $timestamp, $message_id, $transmission_id, $campaign_id, $rcpt_to, $domain, $link_name, $link_url, $classification)
            """;
        var parameters = new[] { "$type", "$timestamp", "$message_id", "$transmission_id", "$campaign_id", "$rcpt_to", "$domain", "$link_name", "$link_url", "$classification" }
            .Select(name => command.Parameters.Add(new SqliteParameter { ParameterName = name })).ToArray();
        command.Prepare();
        await using var json = connection.CreateCommand();
        json.Transaction = transaction;
        json.CommandText = "INSERT INTO event_json (sequence, json) VALUES (last_insert_rowid(), $json)";
        var text = json.Parameters.Add(new SqliteParameter { ParameterName = "$json" });
        json.Prepare();
        foreach (var item in events)
        {
            parameters[0].Value = item.Type.Name();
            parameters[1].Value = item.Timestamp.ToUnixTimeMilliseconds();
            parameters[2].Value = (object?)item.MessageId ?? DBNull.Value;
            parameters[3].Value = (object?)item.TransmissionId ?? DBNull.Value;
            parameters[4].Value = (object?)item.CampaignId ?? DBNull.Value;
            parameters[5].Value = (object?)item.Recipient ?? DBNull.Value;
            parameters[6].Value = (object?)item.Domain ?? DBNull.Value;
            parameters[7].Value = (object?)item.LinkName ?? DBNull.Value;
            parameters[8].Value = (object?)item.LinkUrl ?? DBNull.Value;
            parameters[9].Value = (object?)item.Classification ?? DBNull.Value;
            // Microsoft.Data.Sqlite's async calls run synchronously anyway; the writer has its own thread.
            command.ExecuteNonQuery();
            text.Value = item.Json;
            json.ExecuteNonQuery();
        }

        if (cursor is not null)
        {
            await using var set = connection.CreateCommand();
            set.Transaction = transaction;
            SetCursor(set, cursor.Name, cursor.Position);
            set.ExecuteNonQuery();
        }

        await transaction.CommitAsync(cancellation).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredEvent>> ReadAfterAsync(long afterSequence, int limit, IReadOnlySet<EventType>? types, CancellationToken cancellation)
    {
        await using var connection = Connect();
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder($"SELECT {Columns} FROM events JOIN event_json USING (sequence) WHERE sequence > $after");
        command.Parameters.AddWithValue("$after", afterSequence);
        if (types is { Count: > 0 })
        {
            sql.Append(" AND type IN (").AppendJoin(", ", types.Select((t, i) => Parameter(command, $"$t{i}", t.Name()))).Append(')');
        }

        sql.Append(" ORDER BY sequence LIMIT $limit");
        command.Parameters.AddWithValue("$limit", limit);
        command.CommandText = sql.ToString();
        return await ReadAsync(command, cancellation).ConfigureAwait(false);
    }

    public async Task<long> LatestSequenceAsync(CancellationToken cancellation)
    {
        await using var connection = Connect();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(sequence), 0) FROM events"; // the rowid's B-tree: its last entry
        return (long)(await command.ExecuteScalarAsync(cancellation).ConfigureAwait(false))!;
    }

    public async Task<EventPage> SearchAsync(EventQuery query, CancellationToken cancellation)
    {
        await using var connection = Connect();
        await using var transaction = connection.BeginTransaction(deferred: true); // one snapshot for the count and the page
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var where = Where(command, query);
        command.CommandText = $"SELECT COUNT(*) FROM events{where}";
        var total = (long)(await command.ExecuteScalarAsync(cancellation).ConfigureAwait(false))!;

        command.Parameters.AddWithValue("$before", query.BeforeSequence ?? long.MaxValue);
        command.Parameters.AddWithValue("$limit", query.PerPage + 1);
        command.CommandText = $"SELECT {Columns} FROM events JOIN event_json USING (sequence){where} AND sequence < $before ORDER BY sequence DESC LIMIT $limit";
        var events = await ReadAsync(command, cancellation).ConfigureAwait(false);
        if (events.Count > query.PerPage)
        {
            var shown = events.Take(query.PerPage).ToList();
            return new EventPage(shown, shown[^1].Sequence, total);
        }

        return new EventPage(events, null, total);
    }

    public async Task<long> PurgeAsync(DateTimeOffset before, CancellationToken cancellation)
    {
        // In slices, so that the writer (which waits for the lock) is never held up for long.
        long removed = 0;
        while (true)
        {
            await using var connection = Connect();
            await using var transaction = connection.BeginTransaction();
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            const string Oldest = "SELECT sequence FROM events WHERE timestamp < $before ORDER BY timestamp, sequence LIMIT 10000";
            command.CommandText = $"DELETE FROM event_json WHERE sequence IN ({Oldest})";
            command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
            command.CommandText = $"DELETE FROM events WHERE sequence IN ({Oldest})";
            var count = await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
            await transaction.CommitAsync(cancellation).ConfigureAwait(false);
            removed += count;
            if (count < 10000)
            {
                return removed;
            }
        }
    }

    public async Task<long> GetCursorAsync(string name, CancellationToken cancellation)
    {
        await using var connection = Connect();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sequence FROM cursors WHERE name = $name";
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteScalarAsync(cancellation).ConfigureAwait(false) is long sequence ? sequence : 0;
    }

    public async Task SetCursorAsync(string name, long sequence, CancellationToken cancellation)
    {
        await using var connection = Connect();
        await using var command = connection.CreateCommand();
        SetCursor(command, name, sequence);
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    private static void SetCursor(SqliteCommand command, string name, long sequence)
    {
        command.CommandText = "INSERT INTO cursors (name, sequence) VALUES ($name, $sequence) ON CONFLICT (name) DO UPDATE SET sequence = excluded.sequence";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$sequence", sequence);
    }

    public async Task<bool> TryLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellation)
    {
        // One statement, so atomic: the row changes only if it is ours already or has expired.
        var now = _time.GetUtcNow();
        await using var connection = Connect();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO leases (name, owner, expires) VALUES ($name, $owner, $expires)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
            WHERE leases.owner = excluded.owner OR leases.expires <= $now
            """;
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$expires", (now + duration).ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false) > 0;
    }

    public async Task<IReadOnlyList<MetricsRow>> QueryMetricsAsync(MetricsQuery query, CancellationToken cancellation)
    {
        await using var connection = Connect();
        await using var command = connection.CreateCommand();
        var group = query.Grouping switch
        {
            MetricsGrouping.Campaign => "campaign_id",
            MetricsGrouping.LinkName => "link_name",
            MetricsGrouping.Domain => "domain",
            MetricsGrouping.TimeSeries => "(timestamp / $bucket) * $bucket",
            _ => null,
        };
        if (query.Grouping == MetricsGrouping.TimeSeries)
        {
            command.Parameters.AddWithValue("$bucket", (long)query.Precision.TotalMilliseconds);
        }

        var sql = new StringBuilder("SELECT ").Append(group ?? "NULL").Append(" AS key");
        foreach (var metric in query.Metrics)
        {
            sql.Append(", ").Append(EventMetrics.Sql(metric));
        }

        sql.Append(" FROM events WHERE timestamp >= $from AND timestamp < $to");
        command.Parameters.AddWithValue("$from", query.From.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$to", query.To.ToUnixTimeMilliseconds());
        AppendIn(sql, command, "campaign_id", "c", query.Campaigns);
        if (query.Grouping == MetricsGrouping.LinkName)
        {
            sql.Append(" AND link_name IS NOT NULL");
        }

        if (group is not null)
        {
            sql.Append(" GROUP BY key ORDER BY key");
        }

        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        return await EventMetrics.ReadRowsAsync(reader, query.Metrics.Count, cancellation).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open (and its WAL unmerged); release this database's.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        return ValueTask.CompletedTask;
    }

    private const string Columns = "sequence, type, timestamp, message_id, transmission_id, campaign_id, rcpt_to, json";

    private static string Where(SqliteCommand command, EventQuery query)
    {
        var sql = new StringBuilder(" WHERE 1 = 1");
        if (query.Types is { Count: > 0 })
        {
            AppendIn(sql, command, "type", "t", [.. query.Types.Select(t => t.Name())]);
        }

        AppendIn(sql, command, "campaign_id", "c", query.Campaigns);
        AppendIn(sql, command, "message_id", "m", query.MessageIds);
        AppendIn(sql, command, "transmission_id", "x", query.TransmissionIds);
        AppendIn(sql, command, "rcpt_to", "r", query.Recipients?.Select(r => r.ToLowerInvariant()).ToList());
        if (query.From is { } from)
        {
            sql.Append(" AND timestamp >= ").Append(Parameter(command, "$from", from.ToUnixTimeMilliseconds()));
        }

        if (query.To is { } to)
        {
            sql.Append(" AND timestamp < ").Append(Parameter(command, "$to", to.ToUnixTimeMilliseconds()));
        }

        return sql.ToString();
    }

    private static void AppendIn(StringBuilder sql, SqliteCommand command, string column, string prefix, IReadOnlyList<string>? values)
    {
        if (values is { Count: > 0 })
        {
            sql.Append(" AND ").Append(column).Append(" IN (").AppendJoin(", ", values.Select((v, i) => Parameter(command, $"${prefix}{i}", v))).Append(')');
        }
    }

    private static string Parameter(SqliteCommand command, string name, object value)
    {
        command.Parameters.AddWithValue(name, value);
        return name;
    }

    private static async Task<IReadOnlyList<StoredEvent>> ReadAsync(SqliteCommand command, CancellationToken cancellation)
    {
        var events = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
        {
            events.Add(new StoredEvent(
                reader.GetInt64(0),
                EventTypes.Parse(reader.GetString(1)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetString(7)));
        }

        return events;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
