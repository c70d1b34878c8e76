using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Beacon.Tracker.Http;

/// <summary>
/// One client connection of <see cref="HttpServer"/>: a single async loop that receives into a pooled buffer,
/// answers every complete request found in it, in order, into one pooled send buffer, and sends that with one
/// write (pipelining costs one send per receive, not one per request). The loop is the only code that touches the
/// socket's data; the server's sweep only reads <see cref="_state"/> and <see cref="_since"/>, and ends a wait
/// that is overdue by shutting the socket's receive side (the pending receive then returns 0) or, for a send or
/// as a last resort, by closing the socket.
/// </summary>
internal sealed class HttpConnection(HttpServer server, Socket socket) : IThreadPoolWorkItem
{
    private const int InitialBufferSize = 4096;

    /// <summary>After a response that closes a connection with unread input, at most this much is read and dropped.</summary>
    private const int MaxDrainBytes = 64 * 1024;

    /// <summary>How long unread input is drained before the socket is closed anyway.</summary>
    private const long DrainTimeoutMs = 2_000;

    /// <summary>An abort that has not ended the loop after this long closes the socket.</summary>
    private const long AbortGraceMs = 2_000;

    private IPAddress _peer = IPAddress.IPv6None;
    private SslStream? _tls;
    private byte[] _buffer = [];
    private int _start;
    private int _end;
    private HeadScan _scan;
    private bool _drain;

    private volatile ConnectionState _state = ConnectionState.Handshake;
    private long _since = server.Now;
    private int _abort;
    private long _abortedAt;

    private enum ConnectionState
    {
        /// <summary>Accepted, TLS handshake not done: bounded by the headers timeout.</summary>
        Handshake,

        /// <summary>Waiting for a request's first byte: bounded by the keep-alive timeout.</summary>
        Idle,

        /// <summary>Part of a head received: bounded by the headers timeout, counted from the first byte.</summary>
        ReadingHead,

        /// <summary>Answering: not bounded (the application does not wait on anything).</summary>
        Answering,

        /// <summary>A send in progress: bounded by the send timeout.</summary>
        Sending,

        /// <summary>Closing: reading and dropping what the client still sends, briefly.</summary>
        Draining,
    }

    /// <summary>Why the sweep or a stop ended a wait: the loop decides what to send from it.</summary>
    private enum AbortReason
    {
        None,
        Close,
        Timeout,
    }

    public void Execute() => _ = RunAsync();

    private async Task RunAsync()
    {
        try
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBufferSize, server.Parser.MaxHeadSize));
            _peer = ((IPEndPoint)socket.RemoteEndPoint!).Address;
            if (server.Tls is not null)
            {
                _tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
                await _tls.AuthenticateAsServerAsync(server.Tls, CancellationToken.None).ConfigureAwait(false);
            }

            SetState(ConnectionState.Idle);
            await ServeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException or OperationCanceledException)
        {
            // The client went away, reset the connection, failed the handshake, or the sweep closed the socket.
        }
        catch (Exception e)
        {
            server.Failed(e);
        }
        finally
        {
            _tls?.Dispose();
            socket.Dispose();
            var buffer = _buffer;
            _buffer = [];
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            server.Closed(this);
        }
    }

    private async Task ServeAsync()
    {
        while (true)
        {
            if (server.Stopping && _start == _end)
            {
                return;
            }

            if (!MakeRoom())
            {
                await RejectAsync(RequestRejection.HeadersTooLarge).ConfigureAwait(false);
                return;
            }

            var received = await ReceiveAsync(_buffer.AsMemory(_end)).ConfigureAwait(false);
            if (received == 0)
            {
                if ((AbortReason)Volatile.Read(ref _abort) == AbortReason.Timeout && _end > _start)
                {
                    await RejectAsync(RequestRejection.Timeout).ConfigureAwait(false);
                }

                return;
            }

            if (_state == ConnectionState.Idle)
            {
                SetState(ConnectionState.ReadingHead);
            }

            _end += received;
            byte[]? send = null;
            try
            {
                var close = Answer(ref send, out var length);
                if (length > 0)
                {
                    if (close)
                    {
                        await SendAndCloseAsync(send!, length).ConfigureAwait(false);
                        return;
                    }

                    SetState(ConnectionState.Sending);
                    await SendAsync(send.AsMemory(0, length)).ConfigureAwait(false);
                }
            }
            finally
            {
                if (send is not null)
                {
                    ArrayPool<byte>.Shared.Return(send);
                }
            }

            if (_start == _end)
            {
                _start = _end = 0;
                SetState(ConnectionState.Idle);
            }
            else if (_state != ConnectionState.ReadingHead)
            {
                SetState(ConnectionState.ReadingHead); // the next request's first bytes came with the last receive
            }
        }
    }

    /// <summary>
    /// Answers every complete request buffered, in order, into <paramref name="send"/> (rented here). True when the
    /// connection closes after these answers: a rejection, Connection: close, a body, HTTP/1.0, or a stop.
    /// </summary>
    private bool Answer(ref byte[]? send, out int length)
    {
        length = 0;
        while (true)
        {
            if (_scan.Scanned == 0)
            {
                _start += HttpRequestParser.SkipEmptyLines(_buffer.AsSpan(_start, _end - _start));
            }

            if (_start == _end)
            {
                return false;
            }

            var request = new TrackerRequest { Peer = _peer, Target = string.Empty };
            var status = server.Parser.TryParse(_buffer.AsSpan(_start, _end - _start), ref _scan, ref request, out var framing, out var consumed, out var rejection);
            if (status == ParseStatus.Incomplete)
            {
                return false;
            }

            if (status == ParseStatus.Rejected)
            {
                server.Rejected(rejection);
                Append(new TrackerResponse(rejection.Status(), null, []), head: false, ConnectionHeader.Close, ref send, ref length);
                _drain = true;
                return true;
            }

            _start += consumed;
            _scan = default;
            var response = server.Application(in request);
            var keep = framing.KeepAlive && !server.Stopping;
            var connection = !keep ? ConnectionHeader.Close : framing.Http10 ? ConnectionHeader.KeepAlive : ConnectionHeader.None;
            Append(response, request.Method == TrackerMethod.Head, connection, ref send, ref length);
            if (!keep)
            {
                _drain = framing.HasBody;
                return true;
            }
        }
    }

    private void Append(in TrackerResponse response, bool head, ConnectionHeader connection, ref byte[]? send, ref int length)
    {
        var needed = length + HttpResponseWriter.MaxLength(response);
        if (send is null || send.Length < needed)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, send is null ? InitialBufferSize : send.Length * 2));
            if (send is not null)
            {
                send.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(send);
            }

            send = larger;
        }

        length += HttpResponseWriter.Write(send.AsSpan(length), response, head, connection, server.Date);
    }

    /// <summary>A rejection found outside <see cref="Answer"/>: a full buffer, or the headers timeout.</summary>
    private async Task RejectAsync(RequestRejection rejection)
    {
        server.Rejected(rejection);
        byte[]? send = null;
        var length = 0;
        Append(new TrackerResponse(rejection.Status(), null, []), head: false, ConnectionHeader.Close, ref send, ref length);
        _drain = rejection != RequestRejection.Timeout; // after a timeout the receive side is shut already
        try
        {
            await SendAndCloseAsync(send!, length).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(send!);
        }
    }

    /// <summary>
    /// Room to receive into: unparsed bytes moved to the front, or a larger buffer while a head is below the limits.
    /// False when the buffer is at its maximum and full (the parser refuses such a head first; this is the guard).
    /// </summary>
    private bool MakeRoom()
    {
        if (_end < _buffer.Length)
        {
            return true;
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
            return true;
        }

        if (_buffer.Length >= server.Parser.MaxHeadSize)
        {
            return false;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, server.Parser.MaxHeadSize));
        _buffer.AsSpan(0, _end).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
        return true;
    }

    private ValueTask<int> ReceiveAsync(Memory<byte> into) =>
        _tls is null ? socket.ReceiveAsync(into, SocketFlags.None) : _tls.ReadAsync(into);

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        if (_tls is not null)
        {
            await _tls.WriteAsync(data).ConfigureAwait(false);
            return;
        }

        while (!data.IsEmpty)
        {
            data = data[await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false)..];
        }
    }

    /// <summary>
    /// The last answer, then FIN. If the client may still be sending (a body, a refused head), what it sends is
    /// read and dropped for a moment first: closing a socket with unread input sends a reset, which can destroy
    /// the answer before the client reads it.
    /// </summary>
    private async Task SendAndCloseAsync(byte[] send, int length)
    {
        SetState(ConnectionState.Sending);
        await SendAsync(send.AsMemory(0, length)).ConfigureAwait(false);
        socket.Shutdown(SocketShutdown.Send);
        if (!_drain)
        {
            return;
        }

        SetState(ConnectionState.Draining);
        for (var drained = 0; drained < MaxDrainBytes;)
        {
            var received = await socket.ReceiveAsync(_buffer, SocketFlags.None).ConfigureAwait(false);
            if (received == 0)
            {
                return;
            }

            drained += received;
        }
    }

    private void SetState(ConnectionState state)
    {
        Volatile.Write(ref _since, server.Now);
        _state = state;
    }

    /// <summary>The sweep: closes the wait this connection is in if it is over its time.</summary>
    public void CheckDeadline(long now)
    {
        if (Volatile.Read(ref _abort) != (int)AbortReason.None)
        {
            if (now - Volatile.Read(ref _abortedAt) > AbortGraceMs)
            {
                Drop();
            }

            return;
        }

        var elapsed = now - Volatile.Read(ref _since);
        switch (_state)
        {
            case ConnectionState.Idle when elapsed > server.KeepAliveTimeoutMs:
            case ConnectionState.Draining when elapsed > DrainTimeoutMs:
                Abort(AbortReason.Close, now);
                break;
            case ConnectionState.Handshake or ConnectionState.ReadingHead when elapsed > server.HeadersTimeoutMs:
                Abort(AbortReason.Timeout, now);
                break;
            case ConnectionState.Sending when elapsed > server.SendTimeoutMs:
                Drop();
                break;
        }
    }

    /// <summary>A stop: a connection not answering a request is closed (one that is finishes its response first).</summary>
    public void StopIfIdle()
    {
        if (_state is ConnectionState.Idle or ConnectionState.Handshake or ConnectionState.ReadingHead or ConnectionState.Draining)
        {
            Abort(AbortReason.Close, server.Now);
        }
    }

    /// <summary>Ends the pending receive (it returns 0) without closing the socket, so a 408 can still be sent.</summary>
    private void Abort(AbortReason reason, long now)
    {
        if (Interlocked.CompareExchange(ref _abort, (int)reason, (int)AbortReason.None) != (int)AbortReason.None)
        {
            return;
        }

        Volatile.Write(ref _abortedAt, now);
        try
        {
            socket.Shutdown(SocketShutdown.Receive);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Drop();
        }
    }

    /// <summary>Closes the socket under the loop: whatever it awaits fails, and it cleans up.</summary>
    public void Drop() => socket.Dispose();
}
