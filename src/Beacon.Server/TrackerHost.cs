using System.Net;
using Beacon.Config;
using Beacon.Ingress;
using Beacon.Tracker;
using Beacon.Tracker.Http;
using Microsoft.Extensions.Logging;

namespace Beacon.Server;

/// <summary>
/// The tracker's own HTTP server (<see cref="HttpServer"/>), owned by <see cref="BeaconServer"/>, whose only
/// application is <see cref="TrackerHandler"/>. Why a listener of its own rather than one more endpoint of the API's
/// Kestrel host: the tracker faces the whole Internet with its own limits (request line, headers, timeouts,
/// connections), nothing of the API (routes, authentication, middleware) can ever answer on its port, and it needs
/// a cheaper HTTP path than Kestrel's (docs/performance.md). The engine's services (keyring, event pipeline, ids)
/// are the main host's singletons, shared.
/// </summary>
internal sealed class TrackerHost : IAsyncDisposable
{
    private readonly HttpServer _server;

    private TrackerHost(HttpServer server, IPEndPoint bound)
    {
        _server = server;
        BoundEndpoint = bound;
    }

    /// <summary>The address actually bound (the configured port may be 0).</summary>
    public IPEndPoint BoundEndpoint { get; }

    public static Task<TrackerHost> StartAsync(EngagementTrackerOptions options, string dataDir, string hostName, TrackerHandler handler, ILoggerFactory loggerFactory)
    {
        var endpoint = ConfigLoader.TryParseEndpoint(options.Listen, out var parsed) ? parsed! : throw new ArgumentException(options.Listen);
        var settings = new HttpServerOptions
        {
            MaxRequestLineSize = options.MaxRequestLineSize,
            MaxRequestHeadersTotalSize = options.MaxRequestHeadersTotalSize,
            MaxRequestHeaderCount = options.MaxRequestHeaderCount,
            RequestHeadersTimeout = TimeSpan.FromSeconds(options.RequestHeadersTimeoutSeconds),
            KeepAliveTimeout = TimeSpan.FromSeconds(options.KeepAliveTimeoutSeconds),
            MaxConnections = options.MaxConnections,
            Certificate = ServerCertificate.Load(options.Tls, options.TlsKey, options.TlsPassword, hostName, dataDir),
        };
        var server = new HttpServer(settings, handler.Handle, handler.Metrics, loggerFactory.CreateLogger<HttpServer>());
        return Task.FromResult(new TrackerHost(server, server.Start(endpoint)));
    }

    public Task StopAsync() => _server.StopAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
