using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Beacon.EndToEnd.Tests;

/// <summary>One SMTP reply as it came off the wire: "250-…" continuation lines and the final "250 …" line.</summary>
public sealed record TestReply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>Each line's text after the code and separator: for EHLO, the extension keywords.</summary>
    public IEnumerable<string> Texts => Lines.Select(l => l.Length > 4 ? l[4..] : string.Empty);

    /// <summary>The wire text, lines joined by "\n", so tests compare whole replies: "250 2.1.5 Recipient OK".</summary>
    public override string ToString() => string.Join("\n", Lines);
}

/// <summary>
/// A tiny raw SMTP client for transcript-style tests: writes exactly the bytes it is given (one write per call,
/// so a pipelined group really arrives together) and reads whole multi-line replies. Every wait is bounded; a
/// read that outlives its deadline stays pending and is picked up by the next read, so nothing is lost.
/// </summary>
public sealed class TestSmtpClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly List<byte> _received = [];
    private Task<int>? _pendingRead;
    private bool _closed;

    private TestSmtpClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Connects without reading the greeting (see <see cref="ConnectAsync"/>).</summary>
    public static async Task<TestSmtpClient> OpenAsync(IPEndPoint endpoint)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint);
        return new TestSmtpClient(tcp);
    }

    /// <summary>Connects and checks the 220 greeting.</summary>
    public static async Task<TestSmtpClient> ConnectAsync(IPEndPoint endpoint)
    {
        var client = await OpenAsync(endpoint);
        var greeting = await client.ReadReplyAsync();
        Assert.Equal(220, greeting.Code);
        return client;
    }

    /// <summary>Connects and says EHLO; returns the client ready for MAIL.</summary>
    public static async Task<TestSmtpClient> ConnectEhloAsync(IPEndPoint endpoint)
    {
        var client = await ConnectAsync(endpoint);
        Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        return client;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends one command line (CRLF added) and reads its reply.</summary>
    public async Task<TestReply> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>The next whole reply; fails the test if none arrives in time or the server closes first.</summary>
    public async Task<TestReply> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            if (TryTakeReply(out var reply))
            {
                return reply;
            }

            if (_closed)
            {
                Assert.Fail($"the server closed the connection; unanswered bytes: '{Encoding.UTF8.GetString([.. _received])}'");
            }

            if (!await ReceiveAsync(deadline))
            {
                Assert.Fail($"no whole reply within {timeout ?? DefaultTimeout}; received so far: '{Encoding.UTF8.GetString([.. _received])}'");
            }
        }
    }

    /// <summary>The next whole reply if one arrives within <paramref name="timeout"/>, else null (the read stays pending).</summary>
    public async Task<TestReply?> TryReadReplyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (TryTakeReply(out var reply))
            {
                return reply;
            }

            if (_closed || !await ReceiveAsync(deadline))
            {
                return null;
            }
        }
    }

    /// <summary>True when the server closes the connection within the timeout without sending anything more.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!_closed)
        {
            if (!await ReceiveAsync(deadline))
            {
                return false;
            }
        }

        return _received.Count == 0;
    }

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        if (_pendingRead is not null)
        {
            try
            {
                await _pendingRead;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
            {
                // The socket was closed under the read: expected at disposal.
            }
        }
    }

    /// <summary>Waits for more bytes until the deadline; false on timeout. A closed or reset connection counts as closed.</summary>
    private async Task<bool> ReceiveAsync(DateTime deadline)
    {
        _pendingRead ??= _stream.ReadAsync(_buffer).AsTask();
        var remaining = deadline - DateTime.UtcNow;
        if (remaining > TimeSpan.Zero)
        {
            await Task.WhenAny(_pendingRead, Task.Delay(remaining));
        }

        if (!_pendingRead.IsCompleted)
        {
            return false;
        }

        var read = _pendingRead;
        _pendingRead = null;
        int count;
        try
        {
            count = await read;
        }
        catch (IOException)
        {
            count = 0; // reset by the server
        }

        if (count == 0)
        {
            _closed = true;
        }

        _received.AddRange(_buffer.AsSpan(0, count));
        return true;
    }

    /// <summary>Takes one reply off the received bytes if its final line ("ddd " or "ddd") is complete.</summary>
    private bool TryTakeReply(out TestReply reply)
    {
        reply = null!;
        var lines = new List<string>();
        var start = 0;
        for (var i = 0; i + 1 < _received.Count; i++)
        {
            if (_received[i] != '\r' || _received[i + 1] != '\n')
            {
                continue;
            }

            var line = Encoding.UTF8.GetString(_received.GetRange(start, i - start).ToArray());
            lines.Add(line);
            start = i + 2;
            if (line.Length < 4 || line[3] == ' ')
            {
                _received.RemoveRange(0, start);
                reply = new TestReply(int.Parse(line[..3], System.Globalization.CultureInfo.InvariantCulture), lines);
                return true;
            }
        }

        return false;
    }
}
