namespace Beacon.Events;

/// <summary>
/// The Metrics API's counting (GET /api/v1/metrics/deliverability…), apart from <see cref="IEventStore"/> so that
/// a store adds it when it can count in its own query language (SQLite here; PostgreSQL later).
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
/// </summary>
public static class EventMetrics
{
    private const string Copy = "message_id || ' ' || rcpt_to";
    private const string Opens = "type IN ('open', 'initial_open')";
    private const string Human = "classification = 'human'";

    private static readonly Dictionary<string, string> Definitions = new(StringComparer.Ordinal)
    {
        ["count_injected"] = "SUM(type = 'injection')",
        // Targeted: injected plus rejected at injection (policy or generation).
        ["count_targeted"] = "SUM(type IN ('injection', 'policy_rejection', 'generation_rejection'))",
        ["count_policy_rejection"] = "SUM(type = 'policy_rejection')",
        ["count_delivered"] = "SUM(type = 'delivery')",
        ["count_bounce"] = "SUM(type IN ('bounce', 'out_of_band'))",
        ["count_inband_bounce"] = "SUM(type = 'bounce')",
        ["count_outofband_bounce"] = "SUM(type = 'out_of_band')",
        // Accepted: accepted by the remote side minus out-of-band bounces.
        ["count_accepted"] = "SUM(type = 'delivery') - SUM(type = 'out_of_band')",
        ["count_delayed"] = "SUM(type = 'delay')",
        ["count_spam_complaint"] = "SUM(type = 'spam_complaint')",
        ["count_unsubscribe"] = "SUM(type IN ('list_unsubscribe', 'link_unsubscribe'))",
        // Total opens: every render of the pixel at the bottom; the top pixel counts apart, as SparkPost's.
        ["count_rendered"] = "SUM(type = 'open')",
        ["count_initial_rendered"] = "SUM(type = 'initial_open')",
        ["count_unique_rendered"] = $"COUNT(DISTINCT CASE WHEN {Opens} THEN {Copy} END)",
        ["count_unique_initial_rendered"] = $"COUNT(DISTINCT CASE WHEN type = 'initial_open' THEN {Copy} END)",
        // Rendered or clicked: a click proves an open whose pixel did not load.
        ["count_unique_confirmed_opened"] = $"COUNT(DISTINCT CASE WHEN type IN ('open', 'initial_open', 'click') THEN {Copy} END)",
        ["count_clicked"] = "SUM(type = 'click')",
        ["count_unique_clicked"] = $"COUNT(DISTINCT CASE WHEN type = 'click' THEN {Copy} END)",
        // Raw clicks: over recipients, the distinct links each clicked.
        ["count_raw_clicked"] = $"COUNT(DISTINCT CASE WHEN type = 'click' THEN {Copy} || ' ' || COALESCE(link_url, '') END)",
        ["count_human_rendered"] = $"SUM(type = 'open' AND {Human})",
        ["count_human_initial_rendered"] = $"SUM(type = 'initial_open' AND {Human})",
        ["count_unique_human_rendered"] = $"COUNT(DISTINCT CASE WHEN {Opens} AND {Human} THEN {Copy} END)",
        ["count_unique_human_confirmed_opened"] = $"COUNT(DISTINCT CASE WHEN type IN ('open', 'initial_open', 'click') AND {Human} THEN {Copy} END)",
        ["count_human_clicked"] = $"SUM(type = 'click' AND {Human})",
        ["count_unique_human_clicked"] = $"COUNT(DISTINCT CASE WHEN type = 'click' AND {Human} THEN {Copy} END)",
        ["count_raw_human_clicked"] = $"COUNT(DISTINCT CASE WHEN type = 'click' AND {Human} THEN {Copy} || ' ' || COALESCE(link_url, '') END)",
    };

    public static IEnumerable<string> Names => Definitions.Keys;

    public static bool IsKnown(string name) => Definitions.ContainsKey(name);

    internal static string Sql(string name) => Definitions[name];
}
