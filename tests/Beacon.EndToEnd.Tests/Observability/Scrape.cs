using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Beacon.EndToEnd.Tests.Observability;

/// <summary>One GET /metrics answer, parsed as Prometheus text exposition format 0.0.4: families with their HELP
/// and TYPE, and every sample line as name, labels and value. A line that fits none of these fails the test.</summary>
internal sealed partial class Scrape
{
    private Scrape(string text) => Text = text;

    public string Text { get; }

    public Dictionary<string, string> Help { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> Types { get; } = new(StringComparer.Ordinal);

    public List<(string Name, Dictionary<string, string> Labels, double Value)> Samples { get; } = [];

    public static async Task<Scrape> GetAsync(IPEndPoint api, string? key = null)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://{api}") };
        if (key is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"Bearer {key}");
        }

        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(response.Content.Headers.ContentType.Parameters, p => p.Name == "version" && p.Value == "0.0.4");
        return Parse(text);
    }

    public static Scrape Parse(string text)
    {
        var scrape = new Scrape(text);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var parts = line[7..].Split(' ', 2);
                scrape.Help.Add(parts[0], parts[1]);
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line[7..].Split(' ', 2);
                scrape.Types.Add(parts[0], parts[1]);
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a sample line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal), StringComparer.Ordinal);
            scrape.Samples.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }

        return scrape;
    }

    /// <summary>The sum of a metric's samples whose labels include these (0 when there are none).</summary>
    public double Value(string name, params (string Label, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Label, out var v) && v == l.Value)).Sum(s => s.Value);

    public IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Series(string name) => Samples.Where(s => s.Name == name);

    [GeneratedRegex("^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\\{.*\\})? (?<value>[-+0-9.eE]+|NaN|[+-]Inf)$")]
    private static partial Regex SampleLine();

    [GeneratedRegex("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex LabelPair();
}
