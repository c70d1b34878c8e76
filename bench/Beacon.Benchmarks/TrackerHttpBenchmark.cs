using System.Net;
using Beacon.Tracker;
using Beacon.Tracker.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Benchmarks;

/// <summary>
/// The tracker's HTTP server alone: every request gets the same canned 302 (the headers a click gets, no token
/// opened, no event), so wrk against it and against nginx's <c>return 302</c> measures what the HTTP layer costs
/// (docs/performance.md, "Tracker"). Serves until the process is stopped.
/// </summary>
internal static class TrackerHttpBenchmark
{
    public static async Task RunAsync(int port)
    {
        using var metrics = new TrackerMetrics();
        var response = new TrackerResponse(302, "text/plain", []) { Location = "https://shop.example.com/sale?utm_source=email&utm_campaign=spring", NoCache = true };
        await using var server = new HttpServer(new HttpServerOptions(), (in TrackerRequest _) => response, metrics, NullLogger.Instance);
        Console.WriteLine($"tracker-http: canned 302 on http://{server.Start(new IPEndPoint(IPAddress.Loopback, port))}/ (Ctrl-C stops)");
        var stop = new TaskCompletionSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.TrySetResult();
        };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
        await stop.Task.ConfigureAwait(false);
    }
}
