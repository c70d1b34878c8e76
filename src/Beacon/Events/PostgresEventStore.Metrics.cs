using System.Globalization;
using System.Text;

namespace Beacon.Events;

/// <summary>
/// The Metrics API's counting in PostgreSQL: the SQLite store's query (<see cref="SqliteEventStore.QueryMetricsAsync"/>)
/// in PostgreSQL's dialect, with the same definitions (<see cref="EventMetrics"/>), groupings and row order, so the
/// two stores answer alike.
/// </summary>
public sealed partial class PostgresEventStore
{
    /// <summary>The timestamp in Unix milliseconds, truncated as the SQLite store stores it.</summary>
    private const string Milliseconds = "floor(extract(epoch FROM timestamp) * 1000)::bigint";

    public async Task<IReadOnlyList<MetricsRow>> QueryMetricsAsync(MetricsQuery query, CancellationToken cancellation)
    {
        await using var command = _dataSource.CreateCommand();
        var group = query.Grouping switch
        {
            // SQLite orders text by bytes (BINARY): "C" here, whatever the database's collation.
            MetricsGrouping.Campaign => "campaign_id COLLATE \"C\"",
            MetricsGrouping.LinkName => "link_name COLLATE \"C\"",
            MetricsGrouping.Domain => "domain COLLATE \"C\"",
            MetricsGrouping.TimeSeries => $"({Milliseconds} / @bucket) * @bucket",
            _ => null,
        };
        if (query.Grouping == MetricsGrouping.TimeSeries)
        {
            command.Parameters.AddWithValue("bucket", Math.Max((long)query.Precision.TotalMilliseconds, 1));
        }

        var sql = new StringBuilder("SELECT ").Append(group ?? "NULL::text").Append(" AS key");
        foreach (var metric in query.Metrics)
        {
            sql.Append(", ").Append(EventMetrics.PostgresSql(metric));
        }

        sql.Append(" FROM beacon_events WHERE timestamp >= @from AND timestamp < @to");
        command.Parameters.AddWithValue("from", query.From.ToUniversalTime());
        command.Parameters.AddWithValue("to", query.To.ToUniversalTime());
        if (query.Campaigns is { Count: > 0 })
        {
            sql.Append(" AND campaign_id = ANY(@campaigns)");
            command.Parameters.AddWithValue("campaigns", query.Campaigns.ToArray());
        }

        if (query.Grouping == MetricsGrouping.LinkName)
        {
            sql.Append(" AND link_name IS NOT NULL");
        }

        if (group is not null)
        {
            // NULL first, as in SQLite.
            sql.Append(" GROUP BY 1 ORDER BY 1 NULLS FIRST");
        }

        command.CommandText = sql.ToString();
        await using var reader = await command.ExecuteReaderAsync(cancellation).ConfigureAwait(false);
        return await EventMetrics.ReadRowsAsync(reader, query.Metrics.Count, cancellation).ConfigureAwait(false);
    }
}
