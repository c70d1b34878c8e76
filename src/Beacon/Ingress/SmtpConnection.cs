using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using Beacon.Smtp;
using Beacon.Spool;
using Microsoft.Extensions.Logging;

namespace Beacon.Ingress;

/// <summary>
/// Drives one <see cref="SmtpSession"/> over a connection's pipes: reads lines and message content with every
/// limit enforced while reading, performs the session's effects (STARTTLS, DATA, BDAT) and writes replies.
/// Replies to pipelined commands are written as they are produced and flushed only when no further complete
/// command is already buffered, so a client's whole MAIL/RCPT/DATA group is answered in one write, in order.
/// </summary>
internal sealed class SmtpConnection
{
    private readonly IDuplexPipe _transport;
    private readonly Listener _listener;
    private readonly MessageAcceptor _acceptor;
    private readonly TimeProvider _time;
    private readonly CancellationToken _shutdown;
    private readonly ILogger _logger;
    private readonly string _remoteIp;
    private readonly SmtpSession _session;
    private readonly LineReader _lines;
    private readonly Config.LimitOptions _limits;
    private PipeReader _input;
    private PipeWriter _output;
    private SslStream? _tls;
    private IncomingMessage? _incoming;
    private readonly CancellationTokenSource _readCancel;
    private readonly SmtpMetrics _metrics;

    public SmtpConnection(IDuplexPipe transport, System.Net.IPAddress remote, Listener listener, MessageAcceptor acceptor, ISmtpSessionHooks hooks, TimeProvider time, CancellationToken shutdown, ILogger logger, SmtpMetrics metrics)
    {
        _metrics = metrics;
        _transport = transport;
        _input = transport.Input;
        _output = transport.Output;
        _listener = listener;
        _acceptor = acceptor;
        _time = time;
        _shutdown = shutdown;
        _logger = logger;
        _remoteIp = remote.ToString();
        _readCancel = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _limits = listener.Options.Limits;
        _lines = new LineReader(_limits.MaxLineLength);
        _session = new SmtpSession(listener.SessionOptionsFor(remote), _remoteIp, listener.IsRelayPermitted(remote), listener.Authenticate, hooks);
    }

    public async Task RunAsync()
    {
        _metrics.Opened(_listener.Name);
        try
        {
            await RunSessionAsync().ConfigureAwait(false);
        }
        finally
        {
            _metrics.Closed(_listener.Name);
        }
    }

    private async Task RunSessionAsync()
    {
        if (_shutdown.IsCancellationRequested)
        {
            await ReplyAndFlushAsync(SmtpSession.ServiceUnavailable("Service shutting down, try again later")).ConfigureAwait(false);
            return;
        }

        if (!_listener.TryEnter())
        {
            _logger.LogWarning("smtp {Listener}: refusing {Peer}, {Max} connections already open", _listener.Name, _remoteIp, _listener.Options.Limits.MaxConnections);
            await ReplyAndFlushAsync(SmtpSession.ServiceUnavailable("Too many connections, try again later")).ConfigureAwait(false);
            return;
        }

        var shutdown = _shutdown.Register(_readCancel.Cancel);
        try
        {
            var opening = _session.Open();
            Write(opening.Reply!);
            while (opening.Effect != SessionEffect.Close && await NextCommandAsync().ConfigureAwait(false) is { } step && await PerformAsync(step).ConfigureAwait(false))
            {
            }

            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (SessionEndedException)
        {
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or AuthenticationException or ObjectDisposedException)
        {
            _logger.LogDebug("smtp {Listener}: connection from {Peer} ended: {Reason}", _listener.Name, _remoteIp, e.Message);
        }
        finally
        {
            shutdown.Dispose();
            _readCancel.Dispose();
            _listener.Exit();
            if (_incoming is not null)
            {
                _acceptor.Abort(_incoming);
            }

            if (_tls is not null)
            {
                await _input.CompleteAsync().ConfigureAwait(false);
                await _output.CompleteAsync().ConfigureAwait(false);
                await _tls.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads the next command line (or an over-long one) and lets the session answer it; null at end of stream.</summary>
    private async Task<SmtpStep?> NextCommandAsync()
    {
        DateTimeOffset? lineStarted = null;
        while (true)
        {
            if (!_input.TryRead(out var result))
            {
                await _output.FlushAsync().ConfigureAwait(false);
                result = lineStarted is null
                    ? await ReadAsync(TimeSpan.FromSeconds(_limits.IdleTimeout), "Idle").ConfigureAwait(false)
                    : await ReadAsync(lineStarted.Value.AddSeconds(_limits.CommandTimeout) - _time.GetUtcNow(), "Command").ConfigureAwait(false);
            }

            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            var status = _lines.TryReadLine(ref reader, out var line);
            if (status != LineStatus.NeedMore)
            {
                var step = status == LineStatus.Line ? _session.Execute(line) : _session.LineTooLong();
                _input.AdvanceTo(reader.Position);
                return step;
            }

            _input.AdvanceTo(reader.Position, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }

            lineStarted ??= _time.GetUtcNow();
        }
    }

    /// <summary>Carries out a step's effect and writes its reply; false ends the connection.</summary>
    private async Task<bool> PerformAsync(SmtpStep step)
    {
        if (step.RefusedRecipient is { } refused)
        {
            await _acceptor.RejectAsync(_session, [refused], step.Reply!).ConfigureAwait(false);
        }

        if (_incoming is not null && _session.State != SmtpState.Chunking && step.Effect != SessionEffect.ReceiveChunk)
        {
            _acceptor.Abort(_incoming); // RSET or QUIT in the middle of a BDAT transaction
            _incoming = null;
        }

        switch (step.Effect)
        {
            case SessionEffect.Close:
                await ReplyAndFlushAsync(step.Reply!).ConfigureAwait(false);
                return false;
            case SessionEffect.StartTls:
                await ReplyAndFlushAsync(step.Reply!).ConfigureAwait(false);
                await StartTlsAsync().ConfigureAwait(false);
                return true;
            case SessionEffect.ReceiveData:
                await ReplyAndFlushAsync(step.Reply!).ConfigureAwait(false);
                _incoming = _acceptor.Begin(_session, _limits.MaxMessageSize);
                return await ReceiveDataAsync(_incoming).ConfigureAwait(false) && await FinishMessageAsync().ConfigureAwait(false);
            case SessionEffect.ReceiveChunk:
                _incoming ??= _acceptor.Begin(_session, _limits.MaxMessageSize);
                if (!await ReadChunkAsync(step.ChunkSize, _incoming).ConfigureAwait(false))
                {
                    return false;
                }

                if (step.LastChunk || _incoming.Oversized)
                {
                    return await FinishMessageAsync().ConfigureAwait(false);
                }

                Write(_session.ChunkReceived(step.ChunkSize));
                return true;
            case SessionEffect.DiscardChunk:
                if (!await ReadChunkAsync(step.ChunkSize, sink: null).ConfigureAwait(false))
                {
                    return false;
                }

                Write(step.Reply!);
                return true;
            default:
                Write(step.Reply!);
                return true;
        }
    }

    private async Task<bool> FinishMessageAsync()
    {
        var incoming = _incoming!;
        var recipients = _session.Transaction!.Recipients.Count;
        var reply = await _acceptor.AcceptAsync(_session, incoming, _listener).ConfigureAwait(false);
        _incoming = null;
        if (reply.Code == 250)
        {
            _metrics.Accepted(_listener.Name, recipients, incoming.Length);
        }

        var step = _session.MessageCompleted(reply);
        Write(step.Reply!);
        return step.Effect != SessionEffect.Close;
    }

    /// <summary>DATA content up to the dot line; false when the client went away first.</summary>
    private async Task<bool> ReceiveDataAsync(IncomingMessage incoming)
    {
        var decoder = new DotUnstuffer();
        var deadline = _time.GetUtcNow().AddSeconds(_limits.DataTimeout);
        while (true)
        {
            if (!_input.TryRead(out var result))
            {
                result = await ReadAsync(deadline - _time.GetUtcNow(), "Data").ConfigureAwait(false);
            }

            var buffer = result.Buffer;
            var done = decoder.Decode(buffer, incoming, out var consumed);
            _input.AdvanceTo(consumed, buffer.End);
            if (done)
            {
                return true;
            }

            if (result.IsCompleted)
            {
                _logger.LogInformation("smtp {Listener}: {Peer} disconnected during DATA; message {Id} discarded", _listener.Name, _remoteIp, incoming.MessageId);
                return false;
            }
        }
    }

    /// <summary>Exactly <paramref name="size"/> octets of a BDAT chunk, into the message or nowhere.</summary>
    private async Task<bool> ReadChunkAsync(long size, IncomingMessage? sink)
    {
        var deadline = _time.GetUtcNow().AddSeconds(_limits.DataTimeout);
        var remaining = size;
        while (remaining > 0)
        {
            if (!_input.TryRead(out var result))
            {
                result = await ReadAsync(deadline - _time.GetUtcNow(), "Data").ConfigureAwait(false);
            }

            var buffer = result.Buffer;
            var chunk = buffer.Slice(0, Math.Min(remaining, buffer.Length));
            sink?.Write(chunk);
            remaining -= chunk.Length;
            _input.AdvanceTo(chunk.End);
            if (remaining > 0 && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 3207: negotiate TLS on the same connection, then start the session over.</summary>
    private async Task StartTlsAsync()
    {
        // The client must not pipeline after STARTTLS; anything it already sent in clear text is dropped, never
        // executed inside the TLS session (the command injection of CVE-2011-0411).
        if (_input.TryRead(out var pending))
        {
            if (!pending.Buffer.IsEmpty)
            {
                _logger.LogWarning("smtp {Listener}: {Peer} pipelined {Count} octets after STARTTLS; dropped", _listener.Name, _remoteIp, pending.Buffer.Length);
            }

            _input.AdvanceTo(pending.Buffer.End);
        }

        var tls = new SslStream(new DuplexPipeStream(_transport), leaveInnerStreamOpen: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_limits.CommandTimeout), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _shutdown);
        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _listener.Certificate }, linked.Token).ConfigureAwait(false);
        _tls = tls;
        _input = PipeReader.Create(tls);
        _output = PipeWriter.Create(tls);
        _session.TlsEstablished();
    }

    /// <summary>Waits for input within <paramref name="timeout"/>; a timeout or shutdown ends the session with 421.</summary>
    private async ValueTask<ReadResult> ReadAsync(TimeSpan timeout, string phase)
    {
        // One token source per connection, re-armed for each wait: a timer per read would cost more than the read.
        _readCancel.CancelAfter(timeout > TimeSpan.Zero ? timeout : TimeSpan.FromTicks(1));
        try
        {
            return await _input.ReadAsync(_readCancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_readCancel.IsCancellationRequested)
        {
            var reply = _shutdown.IsCancellationRequested
                ? SmtpSession.ServiceUnavailable("Service shutting down, try again later")
                : new SmtpReply(421, "4.4.2", $"{phase} timeout exceeded, closing connection");
            _logger.LogInformation("smtp {Listener}: {Peer}: {Reply}", _listener.Name, _remoteIp, reply);
            await ReplyAndFlushAsync(reply).ConfigureAwait(false);
            throw new SessionEndedException();
        }
        finally
        {
            if (!_readCancel.IsCancellationRequested)
            {
                _readCancel.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
    }

    private async Task ReplyAndFlushAsync(SmtpReply reply)
    {
        Write(reply);
        await _output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Every reply leaves through here, so that each refusal is counted once.</summary>
    private void Write(SmtpReply reply)
    {
        _metrics.Replied(_listener.Name, reply.Code);
        reply.WriteTo(_output);
    }

    private sealed class SessionEndedException : Exception;
}
