using System.Net;
using Beacon.Config;
using Beacon.Ingress;
using Beacon.Tracker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Beacon.Server;

/// <summary>
/// The tracker's own HTTP host: a second, small Kestrel server in the same process, owned by
/// <see cref="BeaconServer"/>, whose only application is <see cref="TrackerHandler"/>.
/// Why a host of its own rather than one more endpoint of the SMTP host, dispatching on the local port:
/// Kestrel's request limits (request line, header size and count, timeouts) are per server, not per endpoint, and
/// the tracker faces the whole Internet while the API (port 8081, later) and the SMTP listeners need other limits;
/// an HTTP pipeline is per host too, so the API's routes, authentication and middleware can never answer on the
/// tracker's port, nor the tracker's on the API's. The price is one more Kestrel instance (a few threads' worth of
/// timers); the engine's services (keyring, event pipeline, ids) are the main host's singletons, shared.
/// </summary>
internal sealed class TrackerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TrackerHost(WebApplication app, IPEndPoint bound)
    {
        _app = app;
        BoundEndpoint = bound;
    }

    /// <summary>The address actually bound (the configured port may be 0).</summary>
    public IPEndPoint BoundEndpoint { get; }

    public static async Task<TrackerHost> StartAsync(EngagementTrackerOptions options, string dataDir, string hostName, TrackerHandler handler, ILoggerFactory loggerFactory)
    {
        var endpoint = ConfigLoader.TryParseEndpoint(options.Listen, out var parsed) ? parsed! : throw new ArgumentException(options.Listen);
        var certificate = ServerCertificate.Load(options.Tls, options.TlsKey, options.TlsPassword, hostName, dataDir);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "beacon-tracker" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory); // the main host's, so both log alike; not disposed by this host
        builder.WebHost.UseKestrelCore();
        if (certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        ListenOptions? binding = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestLineSize = options.MaxRequestLineSize;
            kestrel.Limits.MaxRequestHeadersTotalSize = options.MaxRequestHeadersTotalSize;
            kestrel.Limits.MaxRequestHeaderCount = options.MaxRequestHeaderCount;
            kestrel.Limits.MaxRequestBodySize = 0; // GET and HEAD only; anything sent is not read
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }

                binding = listen;
            });
        });

        var app = builder.Build();
        app.Run(handler.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        return new TrackerHost(app, binding!.IPEndPoint!);
    }

    public Task StopAsync() => _app.StopAsync();

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
