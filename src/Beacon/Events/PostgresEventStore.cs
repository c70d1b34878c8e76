using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Beacon.Events;

/// <summary>
/// The event store of a fleet: every node appends to and reads from one PostgreSQL database (events.store =
/// "postgres"). Schema in docs/events.md.
/// </summary>
/// <remarks>
/// Ordering. Readers go by cursor: "everything after sequence N". A bigserial value is taken when the row is
/// inserted, not when its transaction commits, so two concurrent appenders could take 5 and 6 and commit 6 first; a
/// reader in between would see 6, move its cursor past 5, and never see 5. Appends therefore take one
/// transaction-level advisory lock (<see cref="AppendLock"/>) before inserting: a second appender waits until the
/// first has committed (PostgreSQL releases transaction locks only after the commit is visible), so sequence order
/// is commit order and a cursor never skips an event. Appends are batched by the pipeline, so the lock is taken
/// once per batch, not per event. A rolled-back append leaves a gap in the numbers, which readers don't mind.
/// Leases use the database's clock (now()), so nodes with skewed clocks still agree on who holds one.
/// </remarks>
public sealed partial class PostgresEventStore : IEventStore, IEventMetrics
{
    /// <summary>pg_advisory_xact_lock key serializing appends ("BEACONEV" as a big-endian 64-bit number).</summary>
    internal const long AppendLock = 0x424541434F4E4556;

    /// <summary>pg_advisory_xact_lock key serializing schema creation when several nodes start at once.</summary>
    private const long SchemaLock = 0x424541434F4E5343;

    private static readonly Dictionary<string, EventType> TypesByName = Enum.GetValues<EventType>().ToDictionary(t => t.Name());

    private const string Columns = "sequence, type, timestamp, message_id, transmission_id, campaign_id, recipient, json";

    private readonly NpgsqlDataSource _dataSource;

    private PostgresEventStore(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    /// <summary>Connects and creates the tables and indexes that are missing.</summary>
    public static async Task<PostgresEventStore> OpenAsync(string connectionString, CancellationToken cancellation)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellation).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellation).ConfigureAwait(false);
            await using (var command = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({SchemaLock}); {PostgresSchema.Create}", connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellation).ConfigureAwait(false);
            return new PostgresEventStore(dataSource);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task AppendAsync(IReadOnlyList<EventRecord> events, StoreCursor? cursor, CancellationToken cancellation)
    {
        if (events.Count == 0 && cursor is null)
        {
            return;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellation).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellation).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({AppendLock})", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
        }

        // COPY inserts the rows in the order given, so the sequence follows the order of the list.
        await using (var importer = await connection.BeginBinaryImportAsync(
            "COPY beacon_events (type, timestamp, message_id, transmission_id, campaign_id, recipient, domain, link_name, link_url, classification, json) FROM STDIN (FORMAT BINARY)",
            cancellation).ConfigureAwait(false))
        {
            foreach (var item in events)
            {
                await importer.StartRowAsync(cancellation).ConfigureAwait(false);
                await importer.WriteAsync(item.Type.Name(), NpgsqlDbType.Text, cancellation).ConfigureAwait(false);
                await importer.WriteAsync(item.Timestamp.ToUniversalTime(), NpgsqlDbType.TimestampTz, cancellation).ConfigureAwait(false);
                await WriteNullableAsync(importer, item.MessageId, cancellation).ConfigureAwait(false);
                await WriteNullableAsync(importer, item.TransmissionId, cancellation).ConfigureAwait(false);
                await WriteNullableAsync(importer, item.CampaignId, cancellation).ConfigureAwait(false);
                await WriteNullableAsync(importer, item.Recipient, cancellation).ConfigureAwait(false);
                await WriteNullableAsync(importer, item.Domain, cancellation).ConfigureAwait(false);
                await WriteNullableAsync(importer, item.LinkName, cancellation).ConfigureAwait(false);
                await WriteNullableAsync(importer, item.LinkUrl, cancellation).ConfigureAwait(false);
                await WriteNullableAsync(importer, item.Classification, cancellation).ConfigureAwait(false);
                await importer.WriteAsync(item.Json, NpgsqlDbType.Text, cancellation).ConfigureAwait(false);
            }

            await importer.CompleteAsync(cancellation).ConfigureAwait(false);
        }

        if (cursor is not null)
        {
            await using var set = SetCursorCommand(cursor.Name, cursor.Position);
            set.Connection = connection;
            set.Transaction = transaction;
            await set.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellation).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredEvent>> ReadAfterAsync(long afterSequence, int limit, IReadOnlySet<EventType>? types, CancellationToken cancellation)
    {
        await using var command = _dataSource.CreateCommand();
        var sql = new StringBuilder($"SELECT {Columns} FROM beacon_events WHERE sequence > @after");
        command.Parameters.AddWithValue("after", afterSequence);
        if (types is { Count: > 0 })
        {
            sql.Append(" AND type = ANY(@types)");
            command.Parameters.AddWithValue("types", types.Select(t => t.Name()).ToArray());
        }

        sql.Append(" ORDER BY sequence LIMIT @limit");
        command.Parameters.AddWithValue("limit", Math.Max(limit, 0));
        command.CommandText = sql.ToString();
        return await ReadEventsAsync(command, cancellation).ConfigureAwait(false);
    }

    public async Task<long> LatestSequenceAsync(CancellationToken cancellation)
    {
        await using var command = _dataSource.CreateCommand("SELECT COALESCE(MAX(sequence), 0) FROM beacon_events"); // the primary key's last entry
        return (long)(await command.ExecuteScalarAsync(cancellation).ConfigureAwait(false))!;
    }

    public async Task<EventPage> SearchAsync(EventQuery query, CancellationToken cancellation)
    {
        var perPage = Math.Max(query.PerPage, 1);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellation).ConfigureAwait(false);

        await using var count = new NpgsqlCommand { Connection = connection };
        var where = Filters(query, count.Parameters);
        count.CommandText = $"SELECT count(*) FROM beacon_events{where}";
        var total = (long)(await count.ExecuteScalarAsync(cancellation).ConfigureAwait(false))!;

        await using var page = new NpgsqlCommand { Connection = connection };
        where = Filters(query, page.Parameters);
        if (query.BeforeSequence is { } before)
        {
            where += (where.Length == 0 ? " WHERE" : " AND") + " sequence < @before";
            page.Parameters.AddWithValue("before", before);
        }

        // One more than a page tells whether there is a next page.
        page.CommandText = $"SELECT {Columns} FROM beacon_events{where} ORDER BY sequence DESC LIMIT @limit";
        page.Parameters.AddWithValue("limit", perPage + 1);
        var events = await ReadEventsAsync(page, cancellation).ConfigureAwait(false);
        if (events.Count <= perPage)
        {
            return new EventPage(events, null, total);
        }

        var shown = events.Take(perPage).ToList();
        return new EventPage(shown, shown[^1].Sequence, total);
    }

    public async Task<long> PurgeAsync(DateTimeOffset before, CancellationToken cancellation)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM beacon_events WHERE timestamp < @before");
        command.Parameters.AddWithValue("before", before.ToUniversalTime());
        return await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    public async Task<long> GetCursorAsync(string name, CancellationToken cancellation)
    {
        await using var command = _dataSource.CreateCommand("SELECT sequence FROM beacon_cursors WHERE name = @name");
        command.Parameters.AddWithValue("name", name);
        return await command.ExecuteScalarAsync(cancellation).ConfigureAwait(false) is long sequence ? sequence : 0;
    }

    public async Task SetCursorAsync(string name, long sequence, CancellationToken cancellation)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellation).ConfigureAwait(false);
        await using var command = SetCursorCommand(name, sequence);
        command.Connection = connection;
        await command.ExecuteNonQueryAsync(cancellation).ConfigureAwait(false);
    }

    private static NpgsqlCommand SetCursorCommand(string name, long sequence)
    {
        var command = new NpgsqlCommand(
            "INSERT INTO beacon_cursors (name, sequence, updated_at) VALUES (@name, @sequence, now()) " +
            "ON CONFLICT (name) DO UPDATE SET sequence = EXCLUDED.sequence, updated_at = EXCLUDED.updated_at");
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("sequence", sequence);
        return command;
    }

    /// <summary>
    /// One statement, so two nodes racing for a free lease can't both win: the row is inserted, or updated only when
    /// it has expired or is already ours; RETURNING yields a row exactly when we hold the lease afterwards.
    /// </summary>
    public async Task<bool> TryLeaseAsync(string name, string owner, TimeSpan duration, CancellationToken cancellation)
    {
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO beacon_leases AS l (name, owner, expires_at) VALUES (@name, @owner, now() + @duration) " +
            "ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at " +
            "WHERE l.expires_at < now() OR l.owner = EXCLUDED.owner RETURNING owner");
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("duration", duration);
        return await command.ExecuteScalarAsync(cancellation).ConfigureAwait(false) is string;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static string Filters(EventQuery query, NpgsqlParameterCollection parameters)
    {
        var clauses = new List<string>();
        if (query.Types is { Count: > 0 })
        {
            clauses.Add("type = ANY(@types)");
            parameters.AddWithValue("types", query.Types.Select(t => t.Name()).ToArray());
        }

        AddAny(clauses, parameters, "campaign_id", "campaigns", query.Campaigns);
        AddAny(clauses, parameters, "message_id", "message_ids", query.MessageIds);
        AddAny(clauses, parameters, "transmission_id", "transmission_ids", query.TransmissionIds);
        if (query.Recipients is { Count: > 0 })
        {
            // Addresses compare case-insensitively (an index on lower(recipient) serves this).
            clauses.Add("lower(recipient) = ANY(@recipients)");
            parameters.AddWithValue("recipients", query.Recipients.Select(r => r.ToLowerInvariant()).ToArray());
        }

        if (query.From is { } from)
        {
            clauses.Add("timestamp >= @from");
            parameters.AddWithValue("from", from.ToUniversalTime());
        }

        if (query.To is { } to)
        {
            clauses.Add("timestamp <= @to");
            parameters.AddWithValue("to", to.ToUniversalTime());
        }

        return clauses.Count == 0 ? string.Empty : " WHERE " + string.Join(" AND ", clauses);
    }

    private static void AddAny(List<string> clauses, NpgsqlParameterCollection parameters, string column, string name, IReadOnlyList<string>? values)
    {
        if (values is { Count: > 0 })
        {
            clauses.Add($"{column} = ANY(@{name})");
            parameters.AddWithValue(name, values.ToArray());
        }
    }

    private static async Task<List<StoredEvent>> ReadEventsAsync(NpgsqlCommand command, CancellationToken cancellation)
    {
        var events = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
        {
            events.Add(new StoredEvent(
                reader.GetInt64(0),
                TypesByName[reader.GetString(1)],
                new DateTimeOffset(reader.GetFieldValue<DateTime>(2), TimeSpan.Zero),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetString(7)));
        }

        return events;
    }

    private static Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellation) =>
        value is null ? importer.WriteNullAsync(cancellation) : importer.WriteAsync(value, NpgsqlDbType.Text, cancellation);
}
