using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Beacon.Smtp;

namespace Beacon.EndToEnd.Tests.Sink;

/// <summary>One client connection: lines in, the session's replies and effects out.</summary>
internal sealed class SinkConnection : ISmtpSessionHooks, IAsyncDisposable
{
    private readonly TestSink _sink;
    private readonly NetworkStream _network;
    private readonly int _number;
    private readonly SmtpSession _session;
    private readonly LineReader _lines = new(4096);
    private readonly ArrayBufferWriter<byte> _chunks = new();
    private SslStream? _tls;
    private PipeReader _input;
    private PipeWriter _output;

    public SinkConnection(TestSink sink, Socket socket, int number)
    {
        _sink = sink;
        _number = number;
        _network = new NetworkStream(socket, ownsSocket: false);
        (_input, _output) = Pipes(_network);
        var peer = ((IPEndPoint)socket.RemoteEndPoint!).Address.ToString();
        _session = new SmtpSession(sink.SessionOptions, peer, relayPermittedForPeer: true, (_, _) => null, this);
    }

    public async Task RunAsync()
    {
        var step = _session.Open();
        while (true)
        {
            switch (step.Effect)
            {
                case SessionEffect.Close:
                    await ReplyAsync(step.Reply!);
                    return;
                case SessionEffect.StartTls:
                    await ReplyAsync(step.Reply!);
                    await StartTlsAsync();
                    break;
                case SessionEffect.ReceiveData:
                    await ReplyAsync(step.Reply!);
                    if (await ReadDataAsync() is not { } data)
                    {
                        return;
                    }

                    step = _session.MessageCompleted(_sink.Complete(_session, data, _number, chunked: false));
                    continue;
                case SessionEffect.ReceiveChunk:
                    if (!await ReadChunkAsync(step.ChunkSize, _chunks))
                    {
                        return;
                    }

                    if (step.LastChunk)
                    {
                        var content = _chunks.WrittenSpan.ToArray();
                        _chunks.Clear();
                        step = _session.MessageCompleted(_sink.Complete(_session, content, _number, chunked: true));
                        continue;
                    }

                    _session.ChunkReceived(step.ChunkSize).WriteTo(_output);
                    break;
                case SessionEffect.DiscardChunk:
                    if (!await ReadChunkAsync(step.ChunkSize, null))
                    {
                        return;
                    }

                    step.Reply!.WriteTo(_output);
                    break;
                default:
                    step.Reply!.WriteTo(_output);
                    if (_session.State != SmtpState.Chunking)
                    {
                        _chunks.Clear(); // RSET inside a BDAT transaction
                    }

                    break;
            }

            if (await NextCommandAsync() is not { } next)
            {
                return;
            }

            step = next;
        }
    }

    public SmtpReply? Connect(SmtpSession session) => null;

    public SmtpReply? Ehlo(SmtpSession session, string name) => null;

    public SmtpReply? MailFrom(SmtpSession session, MailPath sender) => null;

    public SmtpReply? RcptTo(SmtpSession session, MailPath recipient) => _sink.Rcpt(session, recipient, _number);

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync();
        await _output.CompleteAsync();
        if (_tls is not null)
        {
            await _tls.DisposeAsync();
        }

        await _network.DisposeAsync();
    }

    private static (PipeReader, PipeWriter) Pipes(Stream stream) =>
        (PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)), PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)));

    /// <summary>The next command line; replies are flushed only when no further command is buffered (pipelining).</summary>
    private async Task<SmtpStep?> NextCommandAsync()
    {
        while (true)
        {
            if (!_input.TryRead(out var result))
            {
                await _output.FlushAsync();
                result = await _input.ReadAsync();
            }

            var reader = new SequenceReader<byte>(result.Buffer);
            var status = _lines.TryReadLine(ref reader, out var line);
            if (status != LineStatus.NeedMore)
            {
                var step = status == LineStatus.Line ? _session.Execute(line) : _session.LineTooLong();
                _input.AdvanceTo(reader.Position);
                return step;
            }

            _input.AdvanceTo(reader.Position, result.Buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    /// <summary>DATA content up to the dot line, unstuffed; null when the client went away first.</summary>
    private async Task<byte[]?> ReadDataAsync()
    {
        var decoder = new DotUnstuffer();
        var content = new SinkContent();
        while (true)
        {
            var result = await _input.ReadAsync();
            var done = decoder.Decode(result.Buffer, content, out var consumed);
            _input.AdvanceTo(consumed, result.Buffer.End);
            if (done)
            {
                return content.Buffer.WrittenSpan.ToArray();
            }

            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    private async Task<bool> ReadChunkAsync(long size, ArrayBufferWriter<byte>? into)
    {
        var remaining = size;
        while (remaining > 0)
        {
            var result = await _input.ReadAsync();
            var chunk = result.Buffer.Slice(0, Math.Min(remaining, result.Buffer.Length));
            foreach (var segment in chunk)
            {
                into?.Write(segment.Span);
            }

            remaining -= chunk.Length;
            _input.AdvanceTo(chunk.End);
            if (remaining > 0 && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 3207: TLS on the same connection; anything pipelined after STARTTLS is dropped, as Beacon does.</summary>
    private async Task StartTlsAsync()
    {
        if (_input.TryRead(out var pending))
        {
            _input.AdvanceTo(pending.Buffer.End);
        }

        await _input.CompleteAsync();
        await _output.CompleteAsync();
        _tls = new SslStream(_network, leaveInnerStreamOpen: true);
        await _tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = TestSink.Certificate.Value });
        (_input, _output) = Pipes(_tls);
        _session.TlsEstablished();
    }

    private async Task ReplyAsync(SmtpReply reply)
    {
        reply.WriteTo(_output);
        await _output.FlushAsync();
    }
}

/// <summary>Collects decoded DATA content.</summary>
internal sealed class SinkContent : IContentSink
{
    public ArrayBufferWriter<byte> Buffer { get; } = new();

    public void Write(in ReadOnlySequence<byte> content)
    {
        foreach (var segment in content)
        {
            Buffer.Write(segment.Span);
        }
    }
}
