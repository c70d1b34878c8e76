using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Beacon.Smtp;

namespace Beacon.EndToEnd.Tests.Sink;

/// <summary>
/// The project's own SMTP sink for delivery tests, built on Beacon.Smtp: a real server on a socket that drives
/// <see cref="SmtpSession"/>, so it speaks the same ESMTP as Beacon's ingress (PIPELINING, SIZE, 8BITMIME,
/// SMTPUTF8, CHUNKING, STARTTLS as configured) and answers RCPT and end-of-data from a reply script. It stands
/// in for the outside world, so it stays small: no spool, no policy, every message kept in memory.
/// </summary>
public sealed class TestSink : IAsyncDisposable
{
    internal static readonly Lazy<X509Certificate2> Certificate = new(CreateCertificate);

    private readonly TcpListener _listener;
    private readonly TestSinkOptions _options;

    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<SinkMessage> _messages = [];
    private readonly List<SinkMessage> _refused = [];
    private readonly Dictionary<string, int> _rcptAttempts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _dataAttempts = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _sessions = [];
    private readonly Task _acceptLoop;
    private int _connections;
    private int _transactions;

    private TestSink(TcpListener listener, TestSinkOptions options)
    {
        _listener = listener;
        _options = options;
        SessionOptions = new SmtpSessionOptions
        {
            HostName = options.HostName,
            MaxMessageSize = options.MaxMessageSize,
            Pipelining = options.Pipelining,
            EightBitMime = options.EightBitMime,
            SmtpUtf8 = options.SmtpUtf8,
            Chunking = options.Chunking,
            TlsAvailable = options.StartTls,
            MaxErrors = int.MaxValue, // a scripted refusal must never turn into the session's own 421
        };
        Endpoint = (IPEndPoint)listener.LocalEndpoint;
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint Endpoint { get; }

    internal SmtpSessionOptions SessionOptions { get; }

    /// <summary>Messages the sink accepted (250 at the end of content), in the order they completed.</summary>
    public IReadOnlyList<SinkMessage> Messages
    {
        get
        {
            lock (_lock)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Messages whose content arrived but the reply script refused at the end of data.</summary>
    public IReadOnlyList<SinkMessage> RefusedMessages
    {
        get
        {
            lock (_lock)
            {
                return [.. _refused];
            }
        }
    }

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Transactions whose content arrived (accepted or refused): with <see cref="Connections"/>, shows connection reuse.</summary>
    public int Transactions => Volatile.Read(ref _transactions);

    /// <summary>
    /// Listens on <paramref name="address"/> (any 127/8 address works on Linux, where all of it is routed to lo),
    /// on <paramref name="port"/> or a free one.
    /// </summary>
    public static Task<TestSink> StartAsync(IPAddress address, int port = 0, TestSinkOptions? options = null)
    {
        var listener = new TcpListener(address, port);
        listener.Start(128);
        return Task.FromResult(new TestSink(listener, options ?? new TestSinkOptions()));
    }

    /// <summary>
    /// One sink per address, all on the same port number (as MX hosts share port 25): picks a port free on the
    /// first address and tries again with another if a later address has it taken.
    /// </summary>
    public static async Task<IReadOnlyList<TestSink>> StartOnOnePortAsync(IReadOnlyList<IPAddress> addresses, TestSinkOptions? options = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var sinks = new List<TestSink> { await StartAsync(addresses[0], 0, options) };
            try
            {
                foreach (var address in addresses.Skip(1))
                {
                    sinks.Add(await StartAsync(address, sinks[0].Endpoint.Port, options));
                }

                return sinks;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 10)
            {
                foreach (var sink in sinks)
                {
                    await sink.DisposeAsync();
                }
            }
        }
    }

    /// <summary>Polls until at least <paramref name="count"/> messages were accepted; fails after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<SinkMessage>> WaitForMessagesAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var messages = Messages;
            if (messages.Count >= count)
            {
                return messages;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"sink {Endpoint}: {messages.Count} of {count} messages after {timeout} ({Connections} connections, {Transactions} transactions, {RefusedMessages.Count} refused)");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Stops listening, closes every open connection and waits for their sessions to end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] sessions;
        lock (_lock)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }

            sessions = [.. _sessions];
        }

        await _acceptLoop;
        await Task.WhenAll(sessions);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_lock)
            {
                if (_stop.IsCancellationRequested)
                {
                    socket.Dispose();
                    return;
                }

                _sockets.Add(socket);
                _sessions.Add(ServeAsync(socket, Interlocked.Increment(ref _connections)));
            }
        }
    }

    private async Task ServeAsync(Socket socket, int connection)
    {
        await Task.Yield(); // off the accept loop
        try
        {
            await using var session = new SinkConnection(this, socket, connection);
            await session.RunAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            // The client went away, or the sink was disposed: either ends the session.
        }
        finally
        {
            lock (_lock)
            {
                _sockets.Remove(socket);
            }

            socket.Dispose();
        }
    }

    internal SmtpReply? Rcpt(SmtpSession session, MailPath recipient, int connection)
    {
        int attempt;
        lock (_lock)
        {
            attempt = _rcptAttempts[recipient.Address] = _rcptAttempts.GetValueOrDefault(recipient.Address) + 1;
        }

        return _options.OnRcpt?.Invoke(new SinkRecipient(recipient.Address, session.Transaction!.MailFrom.Address, attempt, connection));
    }

    /// <summary>The end of a message's content: the script's reply (or 250), and the message recorded by outcome.</summary>
    internal SmtpReply Complete(SmtpSession session, byte[] data, int connection, bool chunked)
    {
        var transaction = session.Transaction!;
        var recipients = transaction.Recipients.Select(r => r.Address).ToArray();
        int attempt, number;
        lock (_lock)
        {
            attempt = recipients.Max(r => _dataAttempts[r] = _dataAttempts.GetValueOrDefault(r) + 1);
            number = ++_transactions;
        }

        var message = new SinkMessage(transaction.MailFrom.Address, recipients, transaction.MailFrom.Parameters, data, session.HeloName, session.IsTls, connection, attempt, chunked);
        var reply = data.Length > _options.MaxMessageSize
            ? session.MessageTooBig()
            : _options.OnData?.Invoke(message) ?? new SmtpReply(250, "2.0.0", $"OK queued as sink-{number}");
        lock (_lock)
        {
            (reply.IsPositive ? _messages : _refused).Add(message);
        }

        return reply;
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=sink.test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("sink.test");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));

        // SslStream on Linux wants a certificate whose key is not ephemeral.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

}
