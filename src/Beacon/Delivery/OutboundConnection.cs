using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Beacon.Smtp;

namespace Beacon.Delivery;

/// <summary>
/// One SMTP client connection to a next hop (RFC 5321 §3, §4): greeting, EHLO (HELO fallback), STARTTLS, AUTH,
/// then any number of mail transactions (<see cref="SendAsync"/>, in OutboundConnection.Transaction.cs).
/// </summary>
/// <remarks>
/// Protocol outcomes are values: <see cref="ConnectAsync"/> gives a <see cref="ConnectResult"/> and SendAsync a
/// <see cref="TransactionResult"/>, both carrying an <see cref="OutboundFailure"/> from a closed set. Inside, I/O
/// errors and timeouts are exceptions that the read and write helpers turn into a <see cref="FailedException"/>
/// at the point they happen (where it is known what was being waited for), and the public methods catch only
/// that. Caller cancellation stays an <see cref="OperationCanceledException"/>, as everywhere in .NET.
/// Not thread-safe: one operation at a time, as SMTP itself.
/// </remarks>
internal sealed partial class OutboundConnection : IAsyncDisposable
{
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 16 * 1024, leaveOpen: true);
    private static readonly StreamPipeWriterOptions WriterOptions = new(leaveOpen: true);

    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private readonly OutboundOptions _options;
    private readonly string _peerName;
    private SslStream? _tls;
    private PipeReader _input;
    private PipeWriter _output;

    private OutboundConnection(Socket socket, IPEndPoint remote, string peerName, OutboundOptions options)
    {
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: false);
        _input = PipeReader.Create(_network, ReaderOptions);
        _output = PipeWriter.Create(_network, WriterOptions);
        _options = options;
        _peerName = string.IsNullOrEmpty(peerName) ? remote.Address.ToString() : peerName;
        RemoteEndPoint = remote;
    }

    public IPEndPoint RemoteEndPoint { get; }

    public bool IsTls => _tls is not null;

    /// <summary>What the peer announced in its last EHLO reply (after STARTTLS, the second one); none after HELO.</summary>
    public EhloCapabilities Capabilities { get; private set; } = EhloCapabilities.None;

    /// <summary>The 220 greeting.</summary>
    public SmtpReply? Greeting { get; private set; }

    /// <summary>A new transaction can start: the session is in its ready state and nothing has failed.</summary>
    public bool IsUsable { get; private set; }

    /// <summary>Transactions whose content was sent in full (whatever the peer answered after the dot).</summary>
    public int MessagesSent { get; private set; }

    /// <summary>Connects, reads the greeting, says EHLO, negotiates TLS and authenticates as the options say.</summary>
    /// <param name="peerName">The next hop's host name (MX or smarthost), for TLS SNI and certificate checks.</param>
    public static async Task<ConnectResult> ConnectAsync(IPEndPoint endpoint, string peerName, OutboundOptions options, CancellationToken ct)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using (var timer = new OperationTimer(options.Time, ct))
        {
            try
            {
                await socket.ConnectAsync(endpoint, timer.Arm(options.ConnectTimeout)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timer.TimedOut)
            {
                socket.Dispose();
                return ConnectResult.Failed(OutboundFailure.Of(OutboundFailureKind.Timeout, $"no connection to {endpoint} within {options.ConnectTimeout.TotalSeconds:0.###} s"));
            }
            catch (SocketException e)
            {
                socket.Dispose();
                return ConnectResult.Failed(OutboundFailure.Of(OutboundFailureKind.ConnectFailed, $"{endpoint}: {e.SocketErrorCode}: {e.Message}"));
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        var connection = new OutboundConnection(socket, endpoint, peerName, options);
        try
        {
            if (await connection.OpenAsync(ct).ConfigureAwait(false) is { } failure)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                return ConnectResult.Failed(failure);
            }

            connection.IsUsable = true;
            return ConnectResult.Connected(connection);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Ends the session politely (QUIT, RFC 5321 §4.1.1.10) if it is still usable; never fails.</summary>
    public async Task QuitAsync(CancellationToken ct = default)
    {
        if (!IsUsable)
        {
            return;
        }

        IsUsable = false;
        using var timer = new OperationTimer(_options.Time, ct);
        try
        {
            await CommandAsync(timer, "QUIT", "QUIT").ConfigureAwait(false);
        }
        catch (FailedException)
        {
            // The peer went away first: the session is over either way.
        }
    }

    public async ValueTask DisposeAsync()
    {
        IsUsable = false;

        // Completing with an error skips the final flush: after a failure the peer may never read it.
        var closing = new ObjectDisposedException(nameof(OutboundConnection));
        await _input.CompleteAsync(closing).ConfigureAwait(false);
        await _output.CompleteAsync(closing).ConfigureAwait(false);
        if (_tls is not null)
        {
            await _tls.DisposeAsync().ConfigureAwait(false);
        }

        await _network.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }

    /// <summary>Greeting, EHLO, STARTTLS, AUTH; null when the session is ready for mail.</summary>
    private async Task<OutboundFailure?> OpenAsync(CancellationToken ct)
    {
        using var timer = new OperationTimer(_options.Time, ct);
        try
        {
            Greeting = await ReadReplyAsync(timer, _options.GreetingTimeout, "the greeting").ConfigureAwait(false);
            if (Greeting.Code != 220)
            {
                // RFC 5321 §3.1: after a 554 greeting the client SHOULD send QUIT (the server waits for it).
                await SayQuitAsync(Greeting, timer).ConfigureAwait(false);
                return OutboundFailure.Of(OutboundFailureKind.GreetingRejected, Greeting, "greeting refused");
            }

            if (await HelloAsync(timer).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }

            if (_options.Tls != OutboundTls.None && Capabilities.StartTls)
            {
                var reply = await CommandAsync(timer, "STARTTLS", "STARTTLS").ConfigureAwait(false);
                if (reply.Code == 220)
                {
                    await StartTlsAsync(timer).ConfigureAwait(false);
                    if (await HelloAsync(timer).ConfigureAwait(false) is { } refusedAfterTls)
                    {
                        return refusedAfterTls;
                    }
                }
                else if (_options.Tls == OutboundTls.Required)
                {
                    await SayQuitAsync(reply, timer).ConfigureAwait(false);
                    return new OutboundFailure(OutboundFailureKind.TlsRequired, reply, false, "STARTTLS refused");
                }
            }

            if (_options.Tls == OutboundTls.Required && !IsTls)
            {
                await SayQuitAsync(null, timer).ConfigureAwait(false);
                return OutboundFailure.Of(OutboundFailureKind.TlsRequired, "TLS is required but the peer does not offer STARTTLS");
            }

            if (_options.Username is not null && await AuthenticateAsync(timer).ConfigureAwait(false) is { } authFailure)
            {
                await SayQuitAsync(authFailure.Reply, timer).ConfigureAwait(false);
                return authFailure;
            }

            return null;
        }
        catch (FailedException e)
        {
            return e.Failure;
        }
    }

    /// <summary>EHLO, or HELO when the server doesn't know EHLO (RFC 5321 §3.2: 500 or 502).</summary>
    private async Task<OutboundFailure?> HelloAsync(OperationTimer timer)
    {
        var ehlo = await CommandAsync(timer, $"EHLO {_options.HeloName}", "EHLO").ConfigureAwait(false);
        if (ehlo.Code == 250)
        {
            Capabilities = EhloCapabilities.Parse(ehlo);
            return null;
        }

        if (ehlo.Code is 500 or 502 && !IsTls)
        {
            var helo = await CommandAsync(timer, $"HELO {_options.HeloName}", "HELO").ConfigureAwait(false);
            if (helo.Code == 250)
            {
                Capabilities = EhloCapabilities.None;
                return null;
            }

            await SayQuitAsync(helo, timer).ConfigureAwait(false);
            return OutboundFailure.Of(OutboundFailureKind.HeloRejected, helo, "HELO refused after EHLO was not recognised");
        }

        await SayQuitAsync(ehlo, timer).ConfigureAwait(false);
        return OutboundFailure.Of(OutboundFailureKind.HeloRejected, ehlo, "EHLO refused");
    }

    /// <summary>RFC 3207 §4: the TLS handshake after 220, on the same connection.</summary>
    private async Task StartTlsAsync(OperationTimer timer)
    {
        // Anything the server sent after its 220 and before the handshake would be read as if it came over TLS:
        // the STARTTLS response injection of CVE-2011-0411 (client side). Such a peer is broken or attacked.
        if (_input.TryRead(out var pending))
        {
            var injected = pending.Buffer.Length;
            _input.AdvanceTo(pending.Buffer.End);
            if (injected > 0)
            {
                throw new FailedException(OutboundFailure.Of(OutboundFailureKind.TlsFailed, $"{injected} octets in clear text after the 220 to STARTTLS"));
            }
        }

        await _input.CompleteAsync().ConfigureAwait(false);
        await _output.CompleteAsync().ConfigureAwait(false);
        var tls = new SslStream(_network, leaveInnerStreamOpen: true);
        var authentication = new SslClientAuthenticationOptions
        {
            TargetHost = _peerName,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = _options.VerifyCertificate ? null : static (_, _, _, _) => true,
        };
        try
        {
            await tls.AuthenticateAsClientAsync(authentication, timer.Arm(_options.CommandTimeout)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException || (e is OperationCanceledException && timer.TimedOut))
        {
            IsUsable = false;
            await tls.DisposeAsync().ConfigureAwait(false);
            var kind = e is OperationCanceledException ? OutboundFailureKind.Timeout : OutboundFailureKind.TlsFailed;
            throw new FailedException(OutboundFailure.Of(kind, $"TLS handshake with {_peerName}: {e.Message}"));
        }
        finally
        {
            timer.Disarm();
        }

        _tls = tls;
        _input = PipeReader.Create(tls, ReaderOptions);
        _output = PipeWriter.Create(tls, WriterOptions);
        Capabilities = EhloCapabilities.None; // RFC 3207 §4.2: forget what was said in clear text
    }

    /// <summary>RFC 4954 AUTH with PLAIN (RFC 4616) when offered, else LOGIN.</summary>
    private async Task<OutboundFailure?> AuthenticateAsync(OperationTimer timer)
    {
        if (!IsTls && !_options.AllowInsecureAuth)
        {
            return OutboundFailure.Of(OutboundFailureKind.AuthFailed, "credentials are only sent over TLS");
        }

        var user = _options.Username!;
        var password = _options.Password ?? string.Empty;
        var mechanisms = Capabilities.AuthMechanisms;
        SmtpReply reply;
        if (mechanisms.Contains("PLAIN"))
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
            reply = await CommandAsync(timer, $"AUTH PLAIN {token}", "AUTH PLAIN").ConfigureAwait(false);
        }
        else if (mechanisms.Contains("LOGIN"))
        {
            reply = await CommandAsync(timer, "AUTH LOGIN", "AUTH LOGIN").ConfigureAwait(false);
            if (reply.Code == 334)
            {
                reply = await CommandAsync(timer, Convert.ToBase64String(Encoding.UTF8.GetBytes(user)), "AUTH LOGIN user name").ConfigureAwait(false);
            }

            if (reply.Code == 334)
            {
                reply = await CommandAsync(timer, Convert.ToBase64String(Encoding.UTF8.GetBytes(password)), "AUTH LOGIN password").ConfigureAwait(false);
            }
        }
        else
        {
            return OutboundFailure.Of(OutboundFailureKind.AuthFailed, mechanisms.Count == 0 ? "the peer does not offer AUTH" : $"no common AUTH mechanism (peer offers {string.Join(' ', mechanisms)})");
        }

        if (reply.Code == 334)
        {
            // A challenge we can't answer: "*" cancels the exchange (RFC 4954 §4), the server answers 501.
            await CommandAsync(timer, "*", "AUTH cancel").ConfigureAwait(false);
        }

        // Not permanent even on 535: wrong credentials are our configuration, not a reason to bounce the mail.
        return reply.Code == 235 ? null : new OutboundFailure(OutboundFailureKind.AuthFailed, reply, false, "AUTH refused");
    }

    /// <summary>Sends QUIT without waiting for its reply, unless the peer already closed (421). Best effort.</summary>
    private async Task SayQuitAsync(SmtpReply? last, OperationTimer timer)
    {
        if (last?.Code == 421)
        {
            return;
        }

        try
        {
            WriteCommand("QUIT");
            await FlushAsync(timer, _options.CommandTimeout, "QUIT").ConfigureAwait(false);
        }
        catch (FailedException)
        {
            // Closing anyway.
        }
    }

    private async Task<SmtpReply> CommandAsync(OperationTimer timer, string command, string what)
    {
        WriteCommand(command);
        await FlushAsync(timer, _options.CommandTimeout, what).ConfigureAwait(false);
        return await ReadReplyAsync(timer, _options.CommandTimeout, what).ConfigureAwait(false);
    }

    private void WriteCommand(string command)
    {
        var span = _output.GetSpan(Encoding.UTF8.GetMaxByteCount(command.Length) + 2);
        var length = Encoding.UTF8.GetBytes(command, span);
        "\r\n"u8.CopyTo(span[length..]);
        _output.Advance(length + 2);
    }

    private async ValueTask FlushAsync(OperationTimer timer, TimeSpan timeout, string what)
    {
        try
        {
            var result = await _output.FlushAsync(timer.Arm(timeout)).ConfigureAwait(false);
            if (result.IsCompleted)
            {
                throw Lost($"connection closed while sending {what}");
            }
        }
        catch (Exception e) when (Translate(e, timer, $"sending {what}") is { } failure)
        {
            throw new FailedException(failure);
        }
        finally
        {
            timer.Disarm();
        }
    }

    /// <summary>Reads one whole reply; the parser's limits bound what a peer can make us buffer.</summary>
    private async ValueTask<SmtpReply> ReadReplyAsync(OperationTimer timer, TimeSpan timeout, string what)
    {
        try
        {
            while (true)
            {
                if (!_input.TryRead(out var result))
                {
                    result = await _input.ReadAsync(timer.Arm(timeout)).ConfigureAwait(false);
                }

                var buffer = result.Buffer;
                var reader = new SequenceReader<byte>(buffer);
                if (SmtpReplyParser.TryParse(ref reader, out var reply, out var rejection))
                {
                    _input.AdvanceTo(reader.Position);
                    return reply!;
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (rejection != ReplyRejection.None)
                {
                    IsUsable = false;
                    throw new FailedException(OutboundFailure.Of(OutboundFailureKind.ProtocolError, $"malformed reply to {what}: {rejection}"));
                }

                if (result.IsCompleted)
                {
                    throw Lost($"connection closed waiting for the reply to {what}");
                }
            }
        }
        catch (Exception e) when (Translate(e, timer, $"waiting for the reply to {what}") is { } failure)
        {
            throw new FailedException(failure);
        }
        finally
        {
            timer.Disarm();
        }
    }

    private FailedException Lost(string detail)
    {
        IsUsable = false;
        return new FailedException(OutboundFailure.Of(OutboundFailureKind.ConnectionLost, detail));
    }

    /// <summary>The failure an I/O exception stands for; null for anything else (caller cancellation, bugs).</summary>
    private OutboundFailure? Translate(Exception e, OperationTimer timer, string doing)
    {
        OutboundFailure? failure = e switch
        {
            OperationCanceledException when timer.TimedOut => OutboundFailure.Of(OutboundFailureKind.Timeout, $"timeout {doing}"),
            IOException or SocketException or ObjectDisposedException => OutboundFailure.Of(OutboundFailureKind.ConnectionLost, $"{doing}: {e.Message}"),
            _ => null,
        };
        IsUsable &= failure is null && e is not OperationCanceledException;
        return failure;
    }

    /// <summary>Carries a protocol outcome from deep in the I/O helpers to the public method that returns it.</summary>
    private sealed class FailedException(OutboundFailure failure) : Exception(failure.ToString())
    {
        public OutboundFailure Failure { get; } = failure;
    }
}
