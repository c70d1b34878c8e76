using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Beacon.Tracker.Http;

/// <summary>
/// The tracker's HTTP/1.1 server, on System.Net.Sockets alone (docs/tracking-links.md, "The tracker").
/// Why not Kestrel: the tracker answers a handful of fixed routes with a few hundred bytes each, and on a 2-core
/// machine a canned 302 on Kestrel ran at 0.66–0.78× nginx's rate against 0.85–0.98× for a bare socket loop (its
/// general machinery: pipes, header dictionaries, features, per-request contexts), while the tracker's target is
/// 0.5× nginx with a token to open and an event to record (docs/performance.md). This server does only what the
/// tracker needs.
/// <para>
/// Design: one accept loop; one async loop per connection (<see cref="HttpConnection"/>), queued to the thread pool.
/// Timeouts cost nothing per request: each connection stamps its state changes with <see cref="Now"/>, a clock this
/// server advances once a second from a single timer, whose sweep also closes the connections that are overdue and
/// refreshes the cached Date header. Stopping closes the listener and every connection that is not answering a
/// request, waits a few seconds for the others to finish their response, then drops what is left.
/// </para>
/// </summary>
internal sealed class HttpServer : IAsyncDisposable
{
    /// <summary>How long <see cref="StopAsync"/> lets requests in progress finish before dropping their connections.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Failures are logged at most this often, with the count since start.</summary>
    private const long LogIntervalMs = 10_000;

    private readonly HttpServerOptions _options;
    private readonly TrackerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<HttpConnection, byte> _connections = new();
    private readonly Lock _stopLock = new();
    private Socket? _listener;
    private Timer? _sweep;
    private Task _accepting = Task.CompletedTask;
    private Task? _stopped;
    private int _count;
    private volatile bool _stopping;
    private long _now = Environment.TickCount64;
    private volatile byte[] _date = FormatDate();
    private long _failures;
    private long _lastFailureLog = long.MinValue;

    public HttpServer(HttpServerOptions options, HttpApplication application, TrackerMetrics metrics, ILogger logger)
    {
        _options = options;
        _metrics = metrics;
        _logger = logger;
        Application = application;
        Parser = new HttpRequestParser(options.MaxRequestLineSize, options.MaxRequestHeadersTotalSize, options.MaxRequestHeaderCount);
        Tls = options.Certificate is null ? null : new SslServerAuthenticationOptions
        {
            ServerCertificate = options.Certificate,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
            ClientCertificateRequired = false,
        };
        HeadersTimeoutMs = (long)options.RequestHeadersTimeout.TotalMilliseconds;
        KeepAliveTimeoutMs = (long)options.KeepAliveTimeout.TotalMilliseconds;
        SendTimeoutMs = (long)options.SendTimeout.TotalMilliseconds;
    }

    internal HttpApplication Application { get; }

    internal HttpRequestParser Parser { get; }

    internal SslServerAuthenticationOptions? Tls { get; }

    internal long HeadersTimeoutMs { get; }

    internal long KeepAliveTimeoutMs { get; }

    internal long SendTimeoutMs { get; }

    /// <summary>Milliseconds (Environment.TickCount64), advanced once a second by the sweep: stamps are that coarse.</summary>
    internal long Now => Volatile.Read(ref _now);

    /// <summary>The Date header's value (RFC 9110 §6.6.1), formatted once a second.</summary>
    internal ReadOnlySpan<byte> Date => _date;

    internal bool Stopping => _stopping;

    /// <summary>Connections open now.</summary>
    public int ConnectionCount => Volatile.Read(ref _count);

    /// <summary>Binds, listens and starts accepting; returns the address bound (the port may have been 0).</summary>
    public IPEndPoint Start(IPEndPoint endpoint)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true; // [::] takes IPv4 too, as Kestrel's did
            }

            listener.Bind(endpoint);
            listener.Listen(1024);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        _sweep = new Timer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _accepting = AcceptAsync(listener);
        return (IPEndPoint)listener.LocalEndPoint!;
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException && _stopping)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of file descriptors, or a connection reset before it was accepted: wait a moment rather than spin.
                Failed(e);
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }

            if (_stopping || Interlocked.Increment(ref _count) > _options.MaxConnections)
            {
                if (!_stopping)
                {
                    Interlocked.Decrement(ref _count);
                    _metrics.ConnectionsRefused.Add(1);
                }

                socket.Dispose();
                continue;
            }

            socket.NoDelay = true;
            var connection = new HttpConnection(this, socket);
            _connections.TryAdd(connection, 0);
            ThreadPool.UnsafeQueueUserWorkItem(connection, preferLocal: false);
        }
    }

    /// <summary>Once a second: the clock, the Date header, and every connection's deadline.</summary>
    private void Sweep()
    {
        var now = Environment.TickCount64;
        Volatile.Write(ref _now, now);
        _date = FormatDate();
        foreach (var (connection, _) in _connections)
        {
            connection.CheckDeadline(now);
        }
    }

    private static byte[] FormatDate()
    {
        var date = new byte[29];
        DateTime.UtcNow.TryFormat(date, out _, "r", CultureInfo.InvariantCulture);
        return date;
    }

    internal void Rejected(RequestRejection rejection) =>
        _metrics.RequestsRejected.Add(1, new KeyValuePair<string, object?>("status", rejection.Status()));

    internal void Closed(HttpConnection connection)
    {
        if (_connections.TryRemove(connection, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>A connection (or the accept loop) failed other than by its peer going away: logged, rate-limited.</summary>
    internal void Failed(Exception e)
    {
        var failures = Interlocked.Increment(ref _failures);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFailureLog);
        if ((last == long.MinValue || now - last >= LogIntervalMs) && Interlocked.CompareExchange(ref _lastFailureLog, now, last) == last)
        {
            _logger.LogError(e, "tracker: a connection failed and was closed ({Count} so far; one logged every 10 s)", failures);
        }
    }

    /// <summary>
    /// Stops accepting, closes idle connections and those still receiving a head, lets the requests being
    /// answered finish (their response says Connection: close), and drops whatever is left after a few seconds.
    /// </summary>
    public Task StopAsync()
    {
        lock (_stopLock)
        {
            return _stopped ??= StopCoreAsync();
        }
    }

    private async Task StopCoreAsync()
    {
        _stopping = true;
        _listener?.Dispose();
        await _accepting.ConfigureAwait(false);
        var deadline = Environment.TickCount64 + (long)StopTimeout.TotalMilliseconds;
        while (!_connections.IsEmpty && Environment.TickCount64 < deadline)
        {
            // Repeated: a connection between its response and its next receive is idle only a moment later.
            foreach (var (connection, _) in _connections)
            {
                connection.StopIfIdle();
            }

            await Task.Delay(10).ConfigureAwait(false);
        }

        foreach (var (connection, _) in _connections)
        {
            connection.Drop();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_sweep is not null)
        {
            await _sweep.DisposeAsync().ConfigureAwait(false);
        }
    }
}
