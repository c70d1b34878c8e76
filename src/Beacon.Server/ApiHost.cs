using System.Net;
using Beacon.Api;
using Beacon.Config;
using Beacon.Dashboard;
using Beacon.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Beacon.Server;

/// <summary>
/// The API's own HTTP host (api.listen, default 127.0.0.1:8081): Message Events and Metrics APIs, the dashboard, and GET /metrics for Prometheus. A host of its
/// own for the reasons <see cref="TrackerHost"/> gives: its routes, keys and limits never answer on the tracker's
/// port, nor the tracker's on this one. The event store is the main host's singleton, shared.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiHost(WebApplication app, IPEndPoint bound)
    {
        _app = app;
        BoundEndpoint = bound;
    }

    /// <summary>The address actually bound (the configured port may be 0).</summary>
    public IPEndPoint BoundEndpoint { get; }

    public static async Task<ApiHost> StartAsync(ApiOptions options, IEventStore store, Func<object> webhooks, TimeProvider time, ILoggerFactory loggerFactory, PrometheusExporter exporter, DashboardEndpoints? dashboard = null)
    {
        var endpoint = ConfigLoader.TryParseEndpoint(options.Listen, out var parsed) ? parsed! : throw new ArgumentException(options.Listen);
        if (options.ExposureError(endpoint) is { } exposure)
        {
            // ConfigLoader refuses this too; checked again here so no path to the host can open the dashboard to the network without keys.
            throw new ConfigException([exposure]);
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "beacon-api" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory); // the main host's, so both log alike; not disposed by this host
        builder.Services.AddRouting();
        builder.WebHost.UseKestrelCore();
        ListenOptions? binding = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024; // GET only, for now
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                binding = listen;
            });
        });

        var app = builder.Build();
        app.UseRouting();
        ApiRoutes.Map(app, new ApiKeys(options.Keys), store, store as IEventMetrics, webhooks, time, loggerFactory.CreateLogger("Beacon.Api"), dashboard);
        PrometheusEndpoint.Map(app, exporter);
        await app.StartAsync().ConfigureAwait(false);
        return new ApiHost(app, binding!.IPEndPoint!);
    }

    public Task StopAsync() => _app.StopAsync();

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
