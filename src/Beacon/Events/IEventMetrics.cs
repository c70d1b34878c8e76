namespace Beacon.Events;

/// <summary>
/// The Metrics API's counting (GET /api/v1/metrics/deliverability…), apart from <see cref="IEventStore"/> so that
/// a store adds it when it can count in its own query language (SQLite and PostgreSQL both do).
/// </summary>
public interface IEventMetrics
{
    /// <summary>One row per group (one row in all without grouping), values in the order of <see cref="MetricsQuery.Metrics"/>.</summary>
    Task<IReadOnlyList<MetricsRow>> QueryMetricsAsync(MetricsQuery query, CancellationToken cancellation);
}

public enum MetricsGrouping
{
    None,
    Campaign,
    LinkName,
    Domain,
    TimeSeries,
}

/// <summary>Events with From ≤ timestamp &lt; To, optionally of some campaigns only.</summary>
public sealed record MetricsQuery(MetricsGrouping Grouping, IReadOnlyList<string> Metrics, DateTimeOffset From, DateTimeOffset To)
{
    public IReadOnlyList<string>? Campaigns { get; init; }

    /// <summary>The bucket of a time series.</summary>
    public TimeSpan Precision { get; init; } = TimeSpan.FromDays(1);
}

/// <summary><see cref="Key"/>: the campaign, link name, domain, or the bucket's start in Unix milliseconds; null without grouping.</summary>
public sealed record MetricsRow(string? Key, IReadOnlyList<long> Values);

/// <summary>
/// The metrics and their definitions (spec §F16.2), as SQL over the events table (columns type, message_id,
/// rcpt_to, link_url, classification). A "message" for unique counts is one recipient's copy: (message_id, rcpt_to).
/// Human variants count only events the tracker classified "human" (docs/events.md, Classification).
/// One set of definitions serves both stores: only counting a condition differs (SQLite sums booleans, PostgreSQL
/// counts with FILTER) and the recipient column's name (rcpt_to in SQLite, recipient in PostgreSQL).
/// </summary>
public static class EventMetrics
{
    /// <summary>Reads a metrics query's rows: column 0 the group key (text, or a time bucket in ms), then the counts.</summary>
    internal static async Task<IReadOnlyList<MetricsRow>> ReadRowsAsync(System.Data.Common.DbDataReader reader, int metrics, CancellationToken cancellation)
    {
        var rows = new List<MetricsRow>();
        while (await reader.ReadAsync(cancellation).ConfigureAwait(false))
        {
            var values = new long[metrics];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = reader.IsDBNull(i + 1) ? 0 : reader.GetInt64(i + 1);
            }

            var key = reader.IsDBNull(0) ? null : reader.GetValue(0) is long ms ? ms.ToString(System.Globalization.CultureInfo.InvariantCulture) : reader.GetString(0);
            rows.Add(new MetricsRow(key, values));
        }

        return rows;
    }

    private static readonly Dictionary<string, string> Sqlite = Definitions(condition => $"SUM({condition})", "rcpt_to");

    private static readonly Dictionary<string, string> Postgres = Definitions(condition => $"COUNT(*) FILTER (WHERE {condition})", "recipient");

    public static IEnumerable<string> Names => Sqlite.Keys;

    public static bool IsKnown(string name) => Sqlite.ContainsKey(name);

    /// <summary>The SQLite expression of a metric (a NULL sum over no rows reads as 0).</summary>
    internal static string Sql(string name) => Sqlite[name];

    /// <summary>The PostgreSQL expression of a metric, over beacon_events.</summary>
    internal static string PostgresSql(string name) => Postgres[name];

    /// <param name="count">The number of rows where a condition holds.</param>
    /// <param name="recipient">The column of the recipient's address.</param>
    private static Dictionary<string, string> Definitions(Func<string, string> count, string recipient)
    {
        var copy = $"message_id || ' ' || {recipient}";
        const string Opens = "type IN ('open', 'initial_open')";
        const string Human = "classification = 'human'";
        return new(StringComparer.Ordinal)
        {
            ["count_injected"] = count("type = 'injection'"),
            // Targeted: injected plus rejected at injection (policy or generation).
            ["count_targeted"] = count("type IN ('injection', 'policy_rejection', 'generation_rejection')"),
            ["count_policy_rejection"] = count("type = 'policy_rejection'"),
            ["count_delivered"] = count("type = 'delivery'"),
            ["count_bounce"] = count("type IN ('bounce', 'out_of_band')"),
            ["count_inband_bounce"] = count("type = 'bounce'"),
            ["count_outofband_bounce"] = count("type = 'out_of_band'"),
            // Accepted: accepted by the remote side minus out-of-band bounces.
            ["count_accepted"] = count("type = 'delivery'") + " - " + count("type = 'out_of_band'"),
            ["count_delayed"] = count("type = 'delay'"),
            ["count_spam_complaint"] = count("type = 'spam_complaint'"),
            ["count_unsubscribe"] = count("type IN ('list_unsubscribe', 'link_unsubscribe')"),
            // Total opens: every render of the pixel at the bottom; the top pixel counts apart, as SparkPost's.
            ["count_rendered"] = count("type = 'open'"),
            ["count_initial_rendered"] = count("type = 'initial_open'"),
            ["count_unique_rendered"] = $"COUNT(DISTINCT CASE WHEN {Opens} THEN {copy} END)",
            ["count_unique_initial_rendered"] = $"COUNT(DISTINCT CASE WHEN type = 'initial_open' THEN {copy} END)",
            // Rendered or clicked: a click proves an open whose pixel did not load.
            ["count_unique_confirmed_opened"] = $"COUNT(DISTINCT CASE WHEN type IN ('open', 'initial_open', 'click') THEN {copy} END)",
            ["count_clicked"] = count("type = 'click'"),
            ["count_unique_clicked"] = $"COUNT(DISTINCT CASE WHEN type = 'click' THEN {copy} END)",
            // Raw clicks: over recipients, the distinct links each clicked.
            ["count_raw_clicked"] = $"COUNT(DISTINCT CASE WHEN type = 'click' THEN {copy} || ' ' || COALESCE(link_url, '') END)",
            ["count_human_rendered"] = count($"type = 'open' AND {Human}"),
            ["count_human_initial_rendered"] = count($"type = 'initial_open' AND {Human}"),
            ["count_unique_human_rendered"] = $"COUNT(DISTINCT CASE WHEN {Opens} AND {Human} THEN {copy} END)",
            ["count_unique_human_confirmed_opened"] = $"COUNT(DISTINCT CASE WHEN type IN ('open', 'initial_open', 'click') AND {Human} THEN {copy} END)",
            ["count_human_clicked"] = count($"type = 'click' AND {Human}"),
            ["count_unique_human_clicked"] = $"COUNT(DISTINCT CASE WHEN type = 'click' AND {Human} THEN {copy} END)",
            ["count_raw_human_clicked"] = $"COUNT(DISTINCT CASE WHEN type = 'click' AND {Human} THEN {copy} || ' ' || COALESCE(link_url, '') END)",
        };
    }
}
