using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Beacon.Api;

/// <summary>
/// GET /metrics: the instruments of this server's meters in Prometheus's text exposition format 0.0.4.
/// Design note: a small exporter over <see cref="MeterListener"/> rather than OpenTelemetry's Prometheus exporter.
/// That exporter (1.20.1-beta.1) is a prerelease, selects meters by name for the whole process, and adds
/// target_info and otel_scope_* labels. Beacon runs several servers in one process in its tests (and tools may
/// embed one), each with its own meters under the same names; this listener takes only the <see cref="Meter"/>
/// instances it is given, so each API answers for its own server. The instruments are plain
/// System.Diagnostics.Metrics, so dotnet-counters or an OpenTelemetry SDK can still read them by meter name.
/// Only counters and gauges are exported (no histograms): counters (<see cref="Counter{T}"/>,
/// <see cref="ObservableCounter{T}"/>) become "counter" with a _total suffix; up-down counters and gauges become
/// "gauge". Names are the instrument names with dots as underscores, plus _bytes or _seconds for the units By and s.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string, string?, string?, string?, string?), string> LabelCache =
        new(new TagKeyComparer());

    private readonly HashSet<Meter> _meters;
    private readonly MeterListener _listener = new();
    private readonly Dictionary<Instrument, Series> _series = [];
    private readonly Lock _collect = new();

    public PrometheusExporter(IEnumerable<Meter> meters)
    {
        _meters = [.. meters];
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_meters.Contains(instrument.Meter) && KindOf(instrument) is not null)
            {
                var series = new Series(instrument);
                lock (_series)
                {
                    _series[instrument] = series;
                }

                listener.EnableMeasurementEvents(instrument, series); // handed back with each measurement: no lookup
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) =>
        {
            lock (_series)
            {
                _series.Remove(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => Record(state, value, tags));
        _listener.Start();
    }

    /// <summary>Answers a scrape (the caller has already checked the API key).</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var text = Render();
        context.Response.ContentType = ContentType;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Every series now: observable instruments are read at this moment, the others hold their totals.</summary>
    public string Render()
    {
        List<Series> all;
        lock (_collect)
        {
            lock (_series)
            {
                all = [.. _series.Values];
            }

            foreach (var series in all.Where(s => s.Observable))
            {
                series.Clear(); // a destination that left the queue must leave the scrape too
            }

            _listener.RecordObservableInstruments();
        }

        var text = new StringBuilder();
        foreach (var group in all.GroupBy(s => s.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var first = group.First();
            text.Append("# HELP ").Append(group.Key).Append(' ').Append(EscapeHelp(first.Instrument.Description ?? string.Empty)).Append('\n');
            text.Append("# TYPE ").Append(group.Key).Append(' ').Append(first.Kind).Append('\n');
            foreach (var (labels, value) in group.SelectMany(s => s.Snapshot()).OrderBy(p => p.Labels, StringComparer.Ordinal))
            {
                text.Append(group.Key).Append(labels).Append(' ').Append(Format(value)).Append('\n');
            }
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>The Prometheus name: dots and dashes as underscores, the unit's suffix, _total for counters.</summary>
    internal static string NameOf(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_').Replace('-', '_');
        var suffix = instrument.Unit switch
        {
            "By" => "_bytes",
            "s" => "_seconds",
            _ => string.Empty,
        };
        if (suffix.Length > 0 && !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            name += suffix;
        }

        return KindOf(instrument) == "counter" && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    private static string? KindOf(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        if (definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>))
        {
            return "counter";
        }

        return definition == typeof(UpDownCounter<>) || definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>)
            ? "gauge"
            : null;
    }

    private static void Record(object? state, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        ((Series)state!).Record(value, Labels(tags));

    /// <summary>{a="x",b="y"} with the keys in order, so one combination is one series whatever the tag order.</summary>
    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return string.Empty;
        }

        // Hot paths (every SMTP reply, every tracker request) record the same few combinations over and over: the
        // text of up to three string tags is built once. Label values are bounded by design (docs/metrics.md);
        // the cap only keeps a mistake from growing memory without end.
        if (tags.Length <= 3 && AllStrings(tags))
        {
            var key = (tags[0].Key, (string)tags[0].Value!, tags.Length > 1 ? tags[1].Key : null, tags.Length > 1 ? (string)tags[1].Value! : null,
                tags.Length > 2 ? tags[2].Key : null, tags.Length > 2 ? (string)tags[2].Value! : null);
            if (LabelCache.TryGetValue(key, out var cached))
            {
                return cached;
            }

            var text = Build(tags);
            if (LabelCache.Count < 10_000)
            {
                LabelCache.TryAdd(key, text);
            }

            return text;
        }

        return Build(tags);
    }

    private static bool AllStrings(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Value is not string)
            {
                return false;
            }
        }

        return true;
    }

    private static string Build(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var sorted = tags.ToArray();
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder("{");
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(sorted[i].Key.Replace('.', '_')).Append("=\"");
            foreach (var c in Convert.ToString(sorted[i].Value, CultureInfo.InvariantCulture) ?? string.Empty)
            {
                text.Append(c switch
                {
                    '\\' => "\\\\",
                    '"' => "\\\"",
                    '\n' => "\\n",
                    _ => c.ToString(),
                });
            }

            text.Append('"');
        }

        return text.Append('}').ToString();
    }

    private static string EscapeHelp(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Format(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Tags are nearly always string literals, the same instances on every call: equality tries the reference before
    /// the characters, and the hash takes each string's length and two characters instead of every character (the
    /// few combinations an instrument has rarely share them; equality settles any that do).
    /// </summary>
    private sealed class TagKeyComparer : IEqualityComparer<(string, string, string?, string?, string?, string?)>
    {
        public bool Equals((string, string, string?, string?, string?, string?) x, (string, string, string?, string?, string?, string?) y) =>
            Same(x.Item1, y.Item1) && Same(x.Item2, y.Item2) && Same(x.Item3, y.Item3) && Same(x.Item4, y.Item4) && Same(x.Item5, y.Item5) && Same(x.Item6, y.Item6);

        public int GetHashCode((string, string, string?, string?, string?, string?) key) =>
            HashCode.Combine(Cheap(key.Item1), Cheap(key.Item2), Cheap(key.Item3), Cheap(key.Item4), Cheap(key.Item5), Cheap(key.Item6));

        private static bool Same(string? a, string? b) => ReferenceEquals(a, b) || string.Equals(a, b, StringComparison.Ordinal);

        private static int Cheap(string? text) => text is null or "" ? 0 : (text.Length << 16) ^ (text[0] << 8) ^ text[^1];
    }

    /// <summary>One instrument's values by label set: totals for synchronous instruments, the last observation for observable ones.</summary>
    private sealed class Series(Instrument instrument)
    {
        private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);

        /// <summary>A synchronous gauge (<see cref="Gauge{T}"/>) keeps its last value; counters add.</summary>
        private readonly bool _replaces = instrument.IsObservable || instrument.GetType().GetGenericTypeDefinition() == typeof(Gauge<>);

        public Instrument Instrument { get; } = instrument;

        public string Name { get; } = NameOf(instrument);

        public string Kind { get; } = KindOf(instrument)!;

        public bool Observable { get; } = instrument.IsObservable;

        public void Record(double value, string labels)
        {
            lock (_values)
            {
                _values[labels] = _replaces ? value : _values.GetValueOrDefault(labels) + value;
            }
        }

        public void Clear()
        {
            lock (_values)
            {
                _values.Clear();
            }
        }

        public List<(string Labels, double Value)> Snapshot()
        {
            lock (_values)
            {
                return [.. _values.Select(p => (p.Key, p.Value))];
            }
        }
    }
}
