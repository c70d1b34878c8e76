using System.Diagnostics.Metrics;
using Beacon.Api;

namespace Beacon.Tests.Api;

public sealed class PrometheusExporterTests
{
    [Fact]
    public void Counters_and_gauges_render_with_help_type_units_and_escaped_labels()
    {
        using var meter = new Meter("Beacon.Test");
        using var exporter = new PrometheusExporter([meter]);
        var requests = meter.CreateCounter<long>("beacon.test.requests", "{request}", "Requests. High means \\ busy\nreally.");
        var bytes = meter.CreateCounter<long>("beacon.test.received", "By", "Bytes.");
        var open = meter.CreateUpDownCounter<int>("beacon.test.open", "{connection}", "Open now.");
        meter.CreateObservableGauge("beacon.test.age", () => 1.5, "s", "Age.");
        requests.Add(2, new("route", "click"), new("outcome", "a\"b\\c\nd"));
        requests.Add(3, new("outcome", "a\"b\\c\nd"), new("route", "click")); // the same series, tags in another order
        bytes.Add(10);
        open.Add(2);
        open.Add(-1);

        Assert.Equal(
            """
            # HELP beacon_test_age_seconds Age.
            # TYPE beacon_test_age_seconds gauge
            beacon_test_age_seconds 1.5
            # HELP beacon_test_open Open now.
            # TYPE beacon_test_open gauge
            beacon_test_open 1
            # HELP beacon_test_received_bytes_total Bytes.
            # TYPE beacon_test_received_bytes_total counter
            beacon_test_received_bytes_total 10
            # HELP beacon_test_requests_total Requests. High means \\ busy\nreally.
            # TYPE beacon_test_requests_total counter
            beacon_test_requests_total{outcome="a\"b\\c\nd",route="click"} 5

            """.ReplaceLineEndings("\n"),
            exporter.Render());
    }

    [Fact]
    public void Only_the_given_meters_are_exported_even_under_the_same_name()
    {
        using var mine = new Meter("Beacon.Same");
        using var theirs = new Meter("Beacon.Same");
        using var exporter = new PrometheusExporter([mine]);
        mine.CreateCounter<long>("beacon.same.count", null, "Mine.").Add(1);
        theirs.CreateCounter<long>("beacon.same.count", null, "Theirs.").Add(100);

        Assert.Contains("beacon_same_count_total 1\n", exporter.Render(), StringComparison.Ordinal);
        Assert.DoesNotContain("100", exporter.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_observable_series_that_is_no_longer_reported_leaves_the_scrape()
    {
        using var meter = new Meter("Beacon.Observed");
        using var exporter = new PrometheusExporter([meter]);
        var destinations = new List<string> { "a.example", "b.example" };
        meter.CreateObservableGauge("beacon.observed.ready", () => destinations.Select(d => new Measurement<long>(1, new KeyValuePair<string, object?>("destination", d))), null, "Ready.");

        Assert.Contains("destination=\"b.example\"", exporter.Render(), StringComparison.Ordinal);
        destinations.RemoveAt(1);
        var text = exporter.Render();
        Assert.Contains("beacon_observed_ready{destination=\"a.example\"} 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("b.example", text, StringComparison.Ordinal);
    }
}
