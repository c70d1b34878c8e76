using System.Diagnostics;
using System.Globalization;
using Beacon.Events;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Benchmarks;

/// <summary>
/// Sustained event ingestion into SQLite through the real <see cref="EventPipeline"/> (4 producers publishing as
/// fast as the pipeline takes them), then query latency over what was stored: the Message Events API's searches
/// and the Metrics API's counts, at the store (JSON formatting of a page is not included).
/// </summary>
internal static class EventsBenchmark
{
    public static async Task RunAsync(int count, string synchronous, string? directory)
    {
        var dataDir = System.IO.Directory.CreateTempSubdirectory("beacon-events-bench-").FullName;
        if (directory is not null)
        {
            dataDir = System.IO.Directory.CreateDirectory(Path.Combine(directory, Path.GetFileName(dataDir))).FullName;
        }

        try
        {
            var store = SqliteEventStore.Open(dataDir);
            store.Synchronous = synchronous;
            var now = DateTimeOffset.UtcNow;
            var start = now.AddHours(-20);
            var pipeline = new EventPipeline(store, EventPipeline.JournalDirectory(dataDir), NullLogger<EventPipeline>.Instance);
            var clock = Stopwatch.StartNew();
            const int Producers = 4;
            await Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
            {
                for (var i = p; i < count; i += Producers)
                {
                    await pipeline.PublishAsync(Make(i, start.AddMilliseconds(i * (20 * 3600_000.0 / count)))).ConfigureAwait(false);
                }
            }))).ConfigureAwait(false);
            await pipeline.DisposeAsync().ConfigureAwait(false);
            clock.Stop();
            var size = new FileInfo(store.Path).Length + (File.Exists(store.Path + "-wal") ? new FileInfo(store.Path + "-wal").Length : 0);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ingestion: {count:N0} events in {clock.Elapsed.TotalSeconds:F1} s = {count / clock.Elapsed.TotalSeconds:N0} events/s (synchronous={synchronous}); database {size / 1048576.0:F0} MiB"));

            var from = now.AddHours(-24);
            await TimeAsync("events: first page (1000), no filter, with total_count", 20, () => store.SearchAsync(new EventQuery { From = from, To = now }, default)).ConfigureAwait(false);
            await TimeAsync("events: types=click, per_page=100", 20, () => store.SearchAsync(new EventQuery { From = from, To = now, PerPage = 100, Types = new HashSet<EventType> { EventType.Click } }, default)).ConfigureAwait(false);
            await TimeAsync("events: campaigns=c7 (1% of events)", 20, () => store.SearchAsync(new EventQuery { From = from, To = now, Campaigns = ["c7"] }, default)).ConfigureAwait(false);
            await TimeAsync("events: recipients=one address", 50, () => store.SearchAsync(new EventQuery { From = from, To = now, Recipients = ["r1234@domain14.example"] }, default)).ConfigureAwait(false);
            await TimeAsync("events: message_ids=one message", 50, () => store.SearchAsync(new EventQuery { From = from, To = now, MessageIds = ["m00000000000000004321"] }, default)).ConfigureAwait(false);
            await TimeAsync("events: page 500 of 1000 (cursor)", 20, () => store.SearchAsync(new EventQuery { From = from, To = now, BeforeSequence = count / 2 }, default)).ConfigureAwait(false);
            string[] metrics = [.. EventMetrics.Names];
            await TimeAsync($"metrics: deliverability, all {metrics.Length} metrics, 24 h", 5, () => store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.None, metrics, from, now), default)).ConfigureAwait(false);
            await TimeAsync("metrics: deliverability, count_clicked + count_unique_clicked, 24 h", 5, () => store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.None, ["count_clicked", "count_unique_clicked"], from, now), default)).ConfigureAwait(false);
            await TimeAsync("metrics: /campaign, count_clicked, campaigns=c7", 10, () => store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.Campaign, ["count_clicked"], from, now) { Campaigns = ["c7"] }, default)).ConfigureAwait(false);
            await TimeAsync("metrics: /time-series hour, count_delivered, 24 h", 5, () => store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.TimeSeries, ["count_delivered"], from, now) { Precision = TimeSpan.FromHours(1) }, default)).ConfigureAwait(false);
            await store.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            System.IO.Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>
    /// Ingestion into <see cref="PostgresEventStore"/>: the same events, appended directly in batches of 1,000 (the
    /// pipeline's largest batch), one after another, into the (empty) database the connection string names.
    /// </summary>
    public static async Task RunPostgresAsync(string connectionString, int count)
    {
        await using var store = await PostgresEventStore.OpenAsync(connectionString, default).ConfigureAwait(false);
        var start = DateTimeOffset.UtcNow.AddHours(-20);
        var events = Enumerable.Range(0, count).Select(i => Make(i, start.AddMilliseconds(i * (20 * 3600_000.0 / count)))).ToList();
        var clock = Stopwatch.StartNew();
        foreach (var batch in events.Chunk(1000))
        {
            await store.AppendAsync(batch, default).ConfigureAwait(false);
        }

        clock.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"postgres ingestion: {count:N0} events in batches of 1,000 in {clock.Elapsed.TotalSeconds:F1} s = {count / clock.Elapsed.TotalSeconds:N0} events/s"));
        var from = start.AddHours(-4);
        var now = DateTimeOffset.UtcNow;
        string[] metrics = [.. EventMetrics.Names];
        await TimeAsync($"postgres metrics: deliverability, all {metrics.Length} metrics, 24 h", 5, () => store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.None, metrics, from, now), default)).ConfigureAwait(false);
        await TimeAsync("postgres metrics: /time-series hour, count_delivered, 24 h", 5, () => store.QueryMetricsAsync(new MetricsQuery(MetricsGrouping.TimeSeries, ["count_delivered"], from, now) { Precision = TimeSpan.FromHours(1) }, default)).ConfigureAwait(false);
    }

    private static BeaconEvent Make(int i, DateTimeOffset at)
    {
        var type = (i % 20) switch
        {
            < 6 => EventType.Injection,
            < 12 => EventType.Delivery,
            < 16 => EventType.Open,
            < 19 => EventType.Click,
            _ => EventType.Bounce,
        };
        var item = new BeaconEvent(type, i.ToString(CultureInfo.InvariantCulture), at)
            .Set("message_id", $"m{i / 10:D20}")
            .Set("transmission_id", $"t{i / 1000}")
            .Set("campaign_id", $"c{i % 100}")
            .Set("rcpt_to", $"r{i % 50_000}@domain{i % 20}.example")
            .Set("customer_id", "42")
            .Set("node_name", "bench");
        return type is EventType.Open or EventType.Click
            ? item.Set("user_agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0").Set("ip_address", "192.0.2.1")
                .Set("target_link_url", type == EventType.Click ? $"https://shop.example.com/item/{i % 7}" : null)
                .Set("classification", i % 3 == 0 ? "human" : "image_proxy")
            : item.Set("msg_size", 10240).Set("subject", "Spring sale: everything must go");
    }

    private static async Task TimeAsync<T>(string what, int runs, Func<Task<T>> query)
    {
        await query().ConfigureAwait(false); // warm the page cache
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await query().ConfigureAwait(false);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-70} p50 {times[times.Count / 2],8:F1} ms   max {times[^1],8:F1} ms"));
    }
}
