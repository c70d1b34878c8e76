using System.Globalization;
using System.Text.Json;
using Beacon.Events;
using Microsoft.AspNetCore.Http;

namespace Beacon.Api;

/// <summary>
/// GET /api/v1/metrics/deliverability and its groupings (campaign, link-name, domain, time-series), SparkPost's
/// Metrics API: from (required), to (default now), campaigns, metrics (required, comma list; definitions in
/// <see cref="EventMetrics"/>), precision for the time series (1min, 5min, 15min, hour, day).
/// Answers {"results":[{"campaign_id":"…","count_clicked":3,…},…]}.
/// </summary>
public sealed class MetricsApi(IEventMetrics metrics, TimeProvider time)
{
    public const string Prefix = "/api/v1/metrics/deliverability";

    private static readonly Dictionary<string, TimeSpan> Precisions = new(StringComparer.Ordinal)
    {
        ["1min"] = TimeSpan.FromMinutes(1),
        ["5min"] = TimeSpan.FromMinutes(5),
        ["15min"] = TimeSpan.FromMinutes(15),
        ["hour"] = TimeSpan.FromHours(1),
        ["day"] = TimeSpan.FromDays(1),
    };

    public static readonly IReadOnlyDictionary<string, MetricsGrouping> Groupings = new Dictionary<string, MetricsGrouping>(StringComparer.Ordinal)
    {
        [string.Empty] = MetricsGrouping.None,
        ["/campaign"] = MetricsGrouping.Campaign,
        ["/link-name"] = MetricsGrouping.LinkName,
        ["/domain"] = MetricsGrouping.Domain,
        ["/time-series"] = MetricsGrouping.TimeSeries,
    };

    private const int MaxBuckets = 10_000;

    /// <summary>Every bucket from the one holding 'from' to the one holding 'to', with zeros where the store has
    /// none, as SparkPost answers: a chart needs its empty minutes.</summary>
    private static List<MetricsRow> ZeroFilled(MetricsQuery query, IReadOnlyList<MetricsRow> rows)
    {
        var size = (long)query.Precision.TotalMilliseconds;
        var found = rows.ToDictionary(r => long.Parse(r.Key!, CultureInfo.InvariantCulture));
        var zeros = new long[query.Metrics.Count];
        var filled = new List<MetricsRow>();
        for (var start = query.From.ToUnixTimeMilliseconds() / size * size; start < query.To.ToUnixTimeMilliseconds(); start += size)
        {
            filled.Add(found.TryGetValue(start, out var row) ? row : new MetricsRow(start.ToString(CultureInfo.InvariantCulture), zeros));
        }

        return filled;
    }

    public async Task HandleAsync(HttpContext context, MetricsGrouping grouping)
    {
        MetricsQuery query;
        try
        {
            query = Parse(context.Request.Query, grouping, time.GetUtcNow());
        }
        catch (ApiParameterException e)
        {
            await ApiErrors.InvalidAsync(context, e.Message).ConfigureAwait(false);
            return;
        }

        IReadOnlyList<MetricsRow> rows = await metrics.QueryMetricsAsync(query, context.RequestAborted).ConfigureAwait(false);
        if (grouping == MetricsGrouping.TimeSeries)
        {
            rows = ZeroFilled(query, rows);
        }

        context.Response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("results");
            foreach (var row in rows)
            {
                writer.WriteStartObject();
                switch (grouping)
                {
                    case MetricsGrouping.Campaign:
                        writer.WriteString("campaign_id", row.Key);
                        break;
                    case MetricsGrouping.LinkName:
                        writer.WriteString("link_name", row.Key);
                        break;
                    case MetricsGrouping.Domain:
                        writer.WriteString("domain", row.Key);
                        break;
                    case MetricsGrouping.TimeSeries:
                        var start = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(row.Key!, CultureInfo.InvariantCulture));
                        writer.WriteString("ts", start.ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));
                        break;
                }

                for (var i = 0; i < query.Metrics.Count; i++)
                {
                    writer.WriteNumber(query.Metrics[i], row.Values[i]);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    internal static MetricsQuery Parse(IQueryCollection query, MetricsGrouping grouping, DateTimeOffset now)
    {
        var from = ApiQuery.Time(query, "from") ?? throw new ApiParameterException("'from' is required (YYYY-MM-DDTHH:MM)");
        var to = ApiQuery.Time(query, "to") ?? now;
        if (from >= to)
        {
            throw new ApiParameterException("'from' must be before 'to'");
        }

        var names = ApiQuery.List(query, "metrics") ?? throw new ApiParameterException($"'metrics' is required: a comma list of {string.Join(", ", EventMetrics.Names)}");
        foreach (var name in names)
        {
            if (!EventMetrics.IsKnown(name))
            {
                throw new ApiParameterException($"'metrics': '{name}' is not one of {string.Join(", ", EventMetrics.Names)}");
            }
        }

        var precision = TimeSpan.FromDays(1);
        if (ApiQuery.Single(query, "precision") is { } text)
        {
            precision = grouping == MetricsGrouping.TimeSeries && Precisions.TryGetValue(text, out var value)
                ? value
                : throw new ApiParameterException(grouping == MetricsGrouping.TimeSeries
                    ? $"'precision' must be one of {string.Join(", ", Precisions.Keys)}, not '{text}'"
                    : "'precision' applies to /time-series only");
        }

        if (grouping == MetricsGrouping.TimeSeries && (to - from) / precision > MaxBuckets)
        {
            throw new ApiParameterException($"'precision' {ApiQuery.Single(query, "precision") ?? "day"} gives more than {MaxBuckets} buckets from 'from' to 'to'; choose a coarser one");
        }

        return new MetricsQuery(grouping, [.. names.Distinct(StringComparer.Ordinal)], from, to)
        {
            Campaigns = ApiQuery.List(query, "campaigns"),
            Precision = precision,
        };
    }
}
