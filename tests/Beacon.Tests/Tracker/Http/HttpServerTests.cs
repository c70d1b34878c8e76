using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Beacon.Events;
using Beacon.Ingress;
using Beacon.Links;
using Beacon.Spool;
using Beacon.Tests.Links;
using Beacon.Tracker;
using Beacon.Tracker.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Tests.Tracker.Http;

/// <summary>
/// The tracker's HTTP server on a loopback port, driven byte for byte by <see cref="RawHttpClient"/> (and by
/// HttpClient for TLS), answering with the real <see cref="TrackerHandler"/>. Assertions are on what goes over
/// the wire: status lines, headers, bodies, and whether the server closed the connection.
/// </summary>
public sealed class HttpServerTests : IAsyncLifetime
{
    private const string Host = "Host: t.example\r\n";

    private readonly LinkKit _kit = new();
    private readonly TrackerMetrics _metrics = new();
    private readonly List<HttpServer> _servers = [];
    private readonly Dictionary<HttpServer, IPEndPoint> _bound = [];
    private readonly List<RawHttpClient> _clients = [];
    private EventPipeline _pipeline = null!;
    private TrackerHandler _handler = null!;

    public Task InitializeAsync()
    {
        _pipeline = new EventPipeline(_kit.Directory, NullLogger<EventPipeline>.Instance);
        _handler = new TrackerHandler(
            _kit.Codec, new EngagementClassifier(new RecipientStateStore(100), _kit.Time), new EngagementEvents(new MessageIdGenerator("t", _kit.Time), "t", _kit.Time),
            _pipeline, new ClientRateLimiter(0, 100, _kit.Time), new ClientAddress([]), _metrics, _kit.Time, NullLogger<TrackerHandler>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        await _pipeline.DisposeAsync();
        _metrics.Dispose();
        _kit.Dispose();
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order_on_one_connection()
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync(
            $"GET /robots.txt HTTP/1.1\r\n{Host}\r\n" + $"GET /nothing-here HTTP/1.1\r\n{Host}\r\n" + $"GET /q/x HTTP/1.1\r\n{Host}\r\n" + $"HEAD /robots.txt HTTP/1.1\r\n{Host}\r\n");
        Assert.Equal("User-agent: *\nDisallow: /\n", (await client.ReadResponseAsync()).BodyText);
        Assert.Equal(404, (await client.ReadResponseAsync()).Status);
        Assert.Equal(TrackerHandler.TransparentGif, (await client.ReadResponseAsync()).Body);
        var head = await client.ReadResponseAsync(head: true);
        Assert.Equal("26", head.Headers["content-length"]);

        // Still open: the next request is answered on the same connection.
        await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task A_request_sent_one_byte_at_a_time_is_answered()
    {
        var client = await ConnectAsync(Start());
        foreach (var b in Encoding.ASCII.GetBytes($"GET /f/{Token(LinkKit.Click())} HTTP/1.1\r\n{Host}User-Agent: curl/8.5.0\r\n\r\n"))
        {
            await client.SendAsync([b]);
        }

        var response = await client.ReadResponseAsync();
        Assert.Equal(302, response.Status);
        Assert.Equal(LinkKit.Click().Target, response.Headers["location"]);
    }

    [Fact]
    public async Task A_redirect_carries_exactly_the_documented_headers_and_no_server_header()
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync($"GET /f/{Token(LinkKit.Click())} HTTP/1.1\r\n{Host}\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal("HTTP/1.1 302 Found", response.StatusLine);
        Assert.Equal(
            ["cache-control", "content-length", "content-type", "date", "expires", "location", "pragma", "x-robots-tag"],
            response.Headers.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("0", response.Headers["content-length"]);
        Assert.Equal("text/plain", response.Headers["content-type"]);
        Assert.Equal("no-cache, no-store, must-revalidate", response.Headers["cache-control"]);
        Assert.Equal("no-cache", response.Headers["pragma"]);
        Assert.Equal("0", response.Headers["expires"]);
        Assert.Equal("noindex", response.Headers["x-robots-tag"]);
        Assert.True(DateTimeOffset.TryParse(response.Headers["date"], System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Theory]
    [InlineData("GET /\r\n\r\n", 400)] // no version
    [InlineData("GET  /robots.txt HTTP/1.1\r\n" + Host + "\r\n", 400)] // two spaces
    [InlineData("G@T /robots.txt HTTP/1.1\r\n" + Host + "\r\n", 400)] // not a token
    [InlineData("GET /robots.txt HTTP/1.1\rX\r\n" + Host + "\r\n", 400)] // bare CR in the request line
    [InlineData("GET /robots\0.txt HTTP/1.1\r\n" + Host + "\r\n", 400)] // NUL in the target
    [InlineData("GET /robots\u00e9.txt HTTP/1.1\r\n" + Host + "\r\n", 400)] // not US-ASCII
    [InlineData("GET /robots.txt HTTP/1.1\r\n" + Host + "X-A: a\0b\r\n\r\n", 400)] // NUL in a value
    [InlineData("GET /robots.txt HTTP/1.1\r\n" + Host + "X-A: a\rb\r\n\r\n", 400)] // bare CR in a value
    [InlineData("GET /robots.txt HTTP/1.1\r\n" + Host + "X-A: a\r\n  b\r\n\r\n", 400)] // obs-fold
    [InlineData("GET /robots.txt HTTP/1.1\r\nHost : t.example\r\n\r\n", 400)] // whitespace before the colon
    [InlineData("GET /robots.txt HTTP/1.1\r\n: empty name\r\n" + Host + "\r\n", 400)]
    [InlineData("GET /robots.txt HTTP/1.1\r\nX-A: a\r\n\r\n", 400)] // no Host
    [InlineData("GET /robots.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)] // two Hosts
    [InlineData("GET /robots.txt HTTP/1.1\r\n" + Host + "Content-Length: abc\r\n\r\n", 400)]
    [InlineData("GET /robots.txt HTTP/1.1\r\n" + Host + "Content-Length: -1\r\n\r\n", 400)]
    [InlineData("GET /robots.txt HTTP/1.1\r\n" + Host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400)]
    [InlineData("GET * HTTP/1.1\r\n" + Host + "\r\n", 400)] // asterisk-form with GET
    [InlineData("GET t.example:80 HTTP/1.1\r\n" + Host + "\r\n", 400)] // authority-form with GET
    [InlineData("GET http:///robots.txt HTTP/1.1\r\n" + Host + "\r\n", 400)] // absolute-form without authority
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400)] // the h2c preface
    [InlineData("GET /robots.txt HTTP/2.0\r\n" + Host + "\r\n", 505)]
    [InlineData("GET /robots.txt HTTP/1.2\r\n" + Host + "\r\n", 505)]
    [InlineData("GET /robots.txt HTTPS/1.1\r\n" + Host + "\r\n", 400)]
    public async Task Malformed_requests_get_their_status_and_a_closed_connection(string request, int status)
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync(request);
        var response = await client.ReadResponseAsync();
        Assert.Equal(status, response.Status);
        Assert.Equal("close", response.Headers["connection"]);
        Assert.Equal("0", response.Headers["content-length"]);
        Assert.True(await client.IsClosedAsync());
    }

    [Theory]
    [InlineData("OPTIONS * HTTP/1.1\r\n" + Host + "\r\n")]
    [InlineData("CONNECT t.example:443 HTTP/1.1\r\n" + Host + "\r\n")]
    [InlineData("POST /f/x HTTP/1.1\r\n" + Host + "\r\n")]
    public async Task Other_methods_get_405_whatever_their_target(string request)
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync(request);
        var response = await client.ReadResponseAsync();
        Assert.Equal(405, response.Status);
        Assert.Equal("GET, HEAD", response.Headers["allow"]);
    }

    [Fact]
    public async Task Bare_line_feeds_and_a_leading_empty_line_are_accepted()
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync("\r\nGET /robots.txt HTTP/1.1\nHost: t.example\n\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task An_absolute_form_target_is_served_by_its_path_and_query()
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync($"GET http://t.example/f/{Token(LinkKit.Click())}?utm=1 HTTP/1.1\r\n{Host}\r\nGET HTTPS://t.example HTTP/1.1\r\n{Host}\r\n");
        Assert.Equal(302, (await client.ReadResponseAsync()).Status);
        Assert.Equal(404, (await client.ReadResponseAsync()).Status); // "/" is no tracker route
    }

    [Fact]
    public async Task A_request_line_over_the_limit_gets_414_and_a_closed_connection()
    {
        var client = await ConnectAsync(Start(new HttpServerOptions { MaxRequestLineSize = 1024 }));
        await client.SendAsync($"GET /{new string('a', 1024)} HTTP/1.1\r\n{Host}\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal(414, response.Status);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_request_line_over_the_limit_is_refused_before_it_ends()
    {
        var client = await ConnectAsync(Start(new HttpServerOptions { MaxRequestLineSize = 1024 }));
        await client.SendAsync($"GET /{new string('a', 2000)}");
        Assert.Equal(414, (await client.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task Headers_over_the_size_limit_get_431()
    {
        var client = await ConnectAsync(Start(new HttpServerOptions { MaxRequestHeadersTotalSize = 4096 }));
        await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}Cookie: {new string('c', 4096)}\r\n\r\n");
        Assert.Equal(431, (await client.ReadResponseAsync()).Status);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task More_header_fields_than_the_limit_get_431()
    {
        var client = await ConnectAsync(Start(new HttpServerOptions { MaxRequestHeaderCount = 16 }));
        var fields = string.Concat(Enumerable.Range(0, 16).Select(i => $"X-{i}: {i}\r\n"));
        await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}{fields}\r\n");
        Assert.Equal(431, (await client.ReadResponseAsync()).Status);
        Assert.True(await client.IsClosedAsync());

        // 16 fields in all are fine.
        client = await ConnectAsync(Start(new HttpServerOptions { MaxRequestHeaderCount = 16 }));
        await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}{string.Concat(Enumerable.Range(0, 15).Select(i => $"X-{i}: {i}\r\n"))}\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
    }

    [Theory]
    [InlineData("Content-Length: 5\r\n\r\nhello")]
    [InlineData("Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    public async Task A_request_with_a_body_is_answered_then_the_connection_closed(string framing)
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}{framing}");
        var response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Equal("close", response.Headers["connection"]);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Http10_closes_unless_keep_alive_is_asked_for()
    {
        var server = Start();
        var client = await ConnectAsync(server);
        await client.SendAsync("GET /robots.txt HTTP/1.0\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.Equal("HTTP/1.1 200 OK", response.StatusLine);
        Assert.Equal("close", response.Headers["connection"]);
        Assert.True(await client.IsClosedAsync());

        client = await ConnectAsync(server);
        await client.SendAsync("GET /robots.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        Assert.Equal("keep-alive", (await client.ReadResponseAsync()).Headers["connection"]);
        await client.SendAsync("GET /robots.txt HTTP/1.0\r\n\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Http11_connection_close_is_honoured()
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}Connection: close\r\n\r\n");
        Assert.Equal("close", (await client.ReadResponseAsync()).Headers["connection"]);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Head_has_the_content_length_and_no_body()
    {
        var client = await ConnectAsync(Start());
        await client.SendAsync($"HEAD /q/{Token(LinkKit.Open())} HTTP/1.1\r\n{Host}\r\nGET /robots.txt HTTP/1.1\r\n{Host}\r\n");
        var head = await client.ReadResponseAsync(head: true);
        Assert.Equal(200, head.Status);
        Assert.Equal("42", head.Headers["content-length"]);
        Assert.Equal("image/gif", head.Headers["content-type"]);

        // The next bytes are the next response's status line: no body was sent.
        Assert.Equal("HTTP/1.1 200 OK", (await client.ReadResponseAsync()).StatusLine);
    }

    [Fact]
    public async Task Headers_that_do_not_complete_in_time_get_408_and_a_closed_connection()
    {
        var client = await ConnectAsync(Start(new HttpServerOptions { RequestHeadersTimeout = TimeSpan.FromSeconds(1) }));
        await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}User-Agent: slow");
        var response = await client.ReadResponseAsync();
        Assert.Equal(408, response.Status);
        Assert.Equal("close", response.Headers["connection"]);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task An_idle_connection_is_closed_after_the_keep_alive_timeout_without_an_answer()
    {
        var client = await ConnectAsync(Start(new HttpServerOptions { KeepAliveTimeout = TimeSpan.FromSeconds(1) }));
        await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}\r\n");
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        Assert.Equal(string.Empty, await client.ReadToEndAsync());
    }

    [Fact]
    public async Task Past_max_connections_a_new_connection_is_closed_at_once_and_counted()
    {
        var refused = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == _metrics.Meter && instrument.Name == "beacon.tracker.connections_refused")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref refused, value));
        listener.Start();

        var server = Start(new HttpServerOptions { MaxConnections = 2 });
        var first = await ConnectAsync(server);
        var second = await ConnectAsync(server);
        foreach (var client in new[] { first, second })
        {
            await client.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}\r\n");
            Assert.Equal(200, (await client.ReadResponseAsync()).Status); // both accepted and counted
        }

        var third = await ConnectAsync(server);
        Assert.True(await third.IsClosedAsync());
        Assert.Equal(1, Interlocked.Read(ref refused));

        // The two still work.
        await first.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}\r\n");
        Assert.Equal(200, (await first.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task A_failing_application_closes_that_connection_only()
    {
        var server = Start(app: (in TrackerRequest request) => request.Target == "/boom" ? throw new InvalidOperationException("boom") : _handler.Handle(request));
        var failing = await ConnectAsync(server);
        await failing.SendAsync($"GET /boom HTTP/1.1\r\n{Host}\r\n");
        Assert.Equal(string.Empty, await failing.ReadToEndAsync());

        var other = await ConnectAsync(server);
        await other.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}\r\n");
        Assert.Equal(200, (await other.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task Https_serves_http11_with_alpn_to_httpclient()
    {
        using var certificate = ServerCertificate.Load("self-signed", null, null, "localhost", _kit.Directory)!;
        var server = Start(new HttpServerOptions { Certificate = certificate });
        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            AllowAutoRedirect = false,
        });
        http.DefaultRequestVersion = HttpVersion.Version20; // asks for h2; the server offers http/1.1 only
        http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
        var endpoint = _bound[server];
        using var response = await http.GetAsync($"https://localhost:{endpoint.Port}/f/{Token(LinkKit.Click())}");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal(LinkKit.Click().Target, response.Headers.Location!.OriginalString);

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint);
        using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        });
        Assert.Equal(SslApplicationProtocol.Http11, tls.NegotiatedApplicationProtocol);
    }

    [Fact]
    public async Task Stop_closes_idle_and_half_received_connections_and_returns()
    {
        var server = Start();
        var idle = await ConnectAsync(server);
        await idle.SendAsync($"GET /robots.txt HTTP/1.1\r\n{Host}\r\n");
        Assert.Equal(200, (await idle.ReadResponseAsync()).Status);
        var partial = await ConnectAsync(server);
        await partial.SendAsync("GET /robots.txt HTTP/1.1\r\nHo");
        var fresh = await ConnectAsync(server);

        await server.StopAsync();
        Assert.Equal(string.Empty, await idle.ReadToEndAsync());
        Assert.Equal(string.Empty, await partial.ReadToEndAsync());
        Assert.Equal(string.Empty, await fresh.ReadToEndAsync());
        Assert.Equal(0, server.ConnectionCount);
        await Assert.ThrowsAnyAsync<SocketException>(() => RawHttpClient.ConnectAsync(_bound[server]));
    }

    private HttpServer Start(HttpServerOptions? options = null, HttpApplication? app = null)
    {
        var server = new HttpServer(options ?? new HttpServerOptions(), app ?? _handler.Handle, _metrics, NullLogger.Instance);
        _bound[server] = server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        _servers.Add(server);
        return server;
    }

    private async Task<RawHttpClient> ConnectAsync(HttpServer server)
    {
        var client = await RawHttpClient.ConnectAsync(_bound[server]);
        _clients.Add(client);
        return client;
    }

    private string Token(TrackedLink link) => _kit.Codec.Seal(link);
}
