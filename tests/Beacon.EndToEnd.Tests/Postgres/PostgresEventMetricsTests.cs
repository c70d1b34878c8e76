using System.Globalization;
using Beacon.Events;

namespace Beacon.EndToEnd.Tests.Postgres;

/// <summary>
/// The PostgreSQL store's metrics against the SQLite store's, which define them: one set of events appended to both,
/// every metric of every grouping must come out the same, row for row.
/// </summary>
[Collection("postgres")]
public sealed class PostgresEventMetricsTests(PostgresServer server) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);
    private readonly string _dataDir = Directory.CreateTempSubdirectory("beacon-pg-metrics-").FullName;
    private PostgresEventStore _postgres = null!;
    private SqliteEventStore _sqlite = null!;

    public async Task InitializeAsync()
    {
        _postgres = await PostgresEventStore.OpenAsync(await server.CreateDatabaseAsync("metrics"), CancellationToken.None);
        _sqlite = SqliteEventStore.Open(_dataDir);
        var events = Events();
        foreach (var batch in events.Chunk(250))
        {
            await _postgres.AppendAsync(batch, CancellationToken.None);
            await _sqlite.AppendAsync(batch, CancellationToken.None);
        }
    }

    public async Task DisposeAsync()
    {
        await _postgres.DisposeAsync();
        await _sqlite.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    public static TheoryData<MetricsGrouping> Groupings => [.. Enum.GetValues<MetricsGrouping>()];

    [Theory]
    [MemberData(nameof(Groupings))]
    public async Task Every_metric_equals_the_sqlite_stores(MetricsGrouping grouping)
    {
        var metrics = EventMetrics.Names.ToList();
        var precisions = grouping == MetricsGrouping.TimeSeries
            ? new[] { TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(15), TimeSpan.FromHours(1), TimeSpan.FromDays(1) }
            : [TimeSpan.FromDays(1)];
        var queries = precisions.SelectMany(precision => new[]
        {
            new MetricsQuery(grouping, metrics, T0.AddDays(-1), T0.AddDays(1)) { Precision = precision },
            // A window cutting through the events, and a campaign filter.
            new MetricsQuery(grouping, metrics, T0.AddMinutes(37), T0.AddMinutes(151)) { Precision = precision },
            new MetricsQuery(grouping, metrics, T0.AddDays(-1), T0.AddDays(1)) { Precision = precision, Campaigns = ["spring", "Autumn"] },
            new MetricsQuery(grouping, metrics, T0.AddDays(2), T0.AddDays(3)) { Precision = precision },
        });

        foreach (var query in queries)
        {
            var expected = await _sqlite.QueryMetricsAsync(query, CancellationToken.None);
            var actual = await _postgres.QueryMetricsAsync(query, CancellationToken.None);

            Assert.Equal(Render(expected, metrics), Render(actual, metrics));
        }

        // Not vacuous: the full window has rows with clicks in them.
        var all = await _postgres.QueryMetricsAsync(queries.First(), CancellationToken.None);
        Assert.NotEmpty(all);
        Assert.Contains(all, row => row.Values[metrics.IndexOf("count_unique_human_clicked")] > 0);
        if (grouping != MetricsGrouping.None)
        {
            Assert.True(all.Count > 1, $"{grouping}: {all.Count} group(s)");
        }
    }

    /// <summary>Rows as text, so that a difference shows which group and metric.</summary>
    private static List<string> Render(IReadOnlyList<MetricsRow> rows, List<string> metrics) =>
        [.. rows.Select(row => (row.Key ?? "(null)") + ": " + string.Join(", ", metrics.Zip(row.Values, (m, v) => $"{m}={v}")))];

    /// <summary>
    /// A few hundred messages over three hours: campaigns (one missing, differing in case), recipients at several
    /// domains (mixed case), each injected then delivered, delayed, bounced or rejected; opens, initial opens and clicks
    /// on named and unnamed links, human or scanner, some repeated.
    /// </summary>
    private static List<BeaconEvent> Events()
    {
        var random = new Random(20261101);
        string?[] campaigns = ["spring", "Autumn", "newsletter", "b-2", null];
        string[] domains = ["example.com", "Example.ORG", "mail.example.net", "gmail.com", "outlook.com"];
        (string? Name, string Url)[] links = [("hero_banner", "https://shop.example/hero"), ("Footer", "https://shop.example/f"), (null, "https://shop.example/x"), ("unsubscribe_page", "https://shop.example/u")];
        var events = new List<BeaconEvent>();
        var id = 0;
        for (var message = 0; message < 400; message++)
        {
            var at = T0.AddSeconds(random.Next(0, 3 * 3600)).AddMilliseconds(random.Next(0, 1000));
            var campaign = campaigns[message % campaigns.Length];
            var recipient = $"user{random.Next(0, 150)}@{domains[random.Next(domains.Length)]}";
            var messageId = $"msg{message / 2}"; // two recipients share a message id
            BeaconEvent Make(EventType type, TimeSpan after, string? link = null, string? name = null, string? classification = null) =>
                new BeaconEvent(type, (++id).ToString(CultureInfo.InvariantCulture), at + after)
                    .Set("message_id", messageId)
                    .Set("transmission_id", $"tx{message / 10}")
                    .Set("campaign_id", campaign)
                    .Set("rcpt_to", recipient)
                    .Set("target_link_name", name)
                    .Set("target_link_url", link)
                    .Set("classification", classification);

            var fate = random.Next(100);
            if (fate < 3)
            {
                events.Add(Make(EventType.PolicyRejection, TimeSpan.Zero));
                continue;
            }

            events.Add(Make(EventType.Injection, TimeSpan.Zero));
            if (fate < 10)
            {
                events.Add(Make(EventType.Delay, TimeSpan.FromSeconds(5)));
                events.Add(Make(EventType.Bounce, TimeSpan.FromMinutes(20)));
                continue;
            }

            if (fate < 18)
            {
                events.Add(Make(EventType.Delay, TimeSpan.FromSeconds(3)));
            }

            events.Add(Make(EventType.Delivery, TimeSpan.FromSeconds(8)));
            if (fate < 21)
            {
                events.Add(Make(EventType.OutOfBand, TimeSpan.FromMinutes(30)));
                continue;
            }

            if (fate < 23)
            {
                events.Add(Make(EventType.SpamComplaint, TimeSpan.FromMinutes(40)));
            }

            var engaged = TimeSpan.FromSeconds(30);
            for (var n = random.Next(0, 4); n > 0; n--)
            {
                engaged += TimeSpan.FromMinutes(random.Next(1, 60));
                var classification = random.Next(4) == 0 ? "scanner" : "human";
                if (random.Next(2) == 0)
                {
                    events.Add(Make(EventType.InitialOpen, engaged, classification: classification));
                }

                events.Add(Make(EventType.Open, engaged + TimeSpan.FromSeconds(1), classification: classification));
            }

            for (var n = random.Next(0, 4); n > 0; n--)
            {
                engaged += TimeSpan.FromMinutes(random.Next(1, 45));
                var link = links[random.Next(links.Length)];
                events.Add(Make(EventType.Click, engaged, link.Url, link.Name, random.Next(3) == 0 ? "scanner" : "human"));
                if (link.Name == "unsubscribe_page")
                {
                    events.Add(Make(EventType.LinkUnsubscribe, engaged + TimeSpan.FromSeconds(2)));
                }
            }
        }

        return [.. events.OrderBy(e => e.Timestamp)];
    }
}
