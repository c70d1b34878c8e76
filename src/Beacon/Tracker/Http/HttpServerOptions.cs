using System.Security.Cryptography.X509Certificates;

namespace Beacon.Tracker.Http;

/// <summary>The limits of <see cref="HttpServer"/>; the tracker's come from engagement_tracker (docs/configuration.md).</summary>
internal sealed record HttpServerOptions
{
    public int MaxRequestLineSize { get; init; } = 16 * 1024;

    public int MaxRequestHeadersTotalSize { get; init; } = 32 * 1024;

    public int MaxRequestHeaderCount { get; init; } = 64;

    /// <summary>From a request's first byte (or a TLS connection's accept) to the end of its head; then 408 and close.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a connection may wait for its next request; then it is closed.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>How long one send may take (a client that does not read); then the connection is dropped.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connections open at once; one more is accepted and closed at once.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>HTTPS with this certificate (HTTP/1.1 only, ALPN "http/1.1"); null for plain HTTP.</summary>
    public X509Certificate2? Certificate { get; init; }
}
