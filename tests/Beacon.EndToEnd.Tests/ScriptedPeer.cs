using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Beacon.EndToEnd.Tests;

/// <summary>
/// A fake next hop on a loopback port that plays a script: it stands in for the outside world (a refusing MX, a
/// peer that drops the line). The script runs for one connection; what the client sent is kept as a transcript,
/// and a failed expectation in the script fails the test when the peer is disposed.
/// </summary>
internal sealed class ScriptedPeer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Task _run;
    private readonly CancellationTokenSource _stop = new();

    private ScriptedPeer(Func<PeerSession, Task> script)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _run = RunAsync(script);
    }

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Lines the client sent ("C: …") and replies the script sent ("S: …"), in order.</summary>
    public List<string> Transcript { get; } = [];

    public static ScriptedPeer Start(Func<PeerSession, Task> script) => new(script);

    private async Task RunAsync(Func<PeerSession, Task> script)
    {
        using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
        client.NoDelay = true;
        var session = new PeerSession(client, Transcript, _stop.Token);
        await script(session);
    }

    /// <summary>Waits for the script to finish (it must, within 10 s) and surfaces its failures.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}

internal sealed class PeerSession(TcpClient client, List<string> transcript, CancellationToken stop)
{
    private readonly NetworkStream _stream = client.GetStream();
    private readonly List<byte> _buffer = [];

    /// <summary>Sends reply lines, each ending in CRLF.</summary>
    public async Task SayAsync(params string[] lines)
    {
        lock (transcript)
        {
            transcript.AddRange(lines.Select(l => "S: " + l));
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\r\n"))), stop);
    }

    /// <summary>Sends raw bytes (malformed replies).</summary>
    public Task SayRawAsync(string raw) => _stream.WriteAsync(Encoding.UTF8.GetBytes(raw), stop).AsTask();

    /// <summary>Reads one command line and checks it is <paramref name="expected"/>.</summary>
    public async Task ExpectAsync(string expected)
    {
        var line = await ReadLineAsync();
        Assert.Equal(expected, line);
    }

    /// <summary>Reads one command line, checks it and answers it.</summary>
    public async Task AnswerAsync(string expected, params string[] reply)
    {
        await ExpectAsync(expected);
        await SayAsync(reply);
    }

    /// <summary>The greeting and an EHLO reply with these extensions.</summary>
    public async Task HelloAsync(params string[] extensions)
    {
        await SayAsync("220 peer.test ESMTP scripted");
        var lines = new[] { "peer.test" }.Concat(extensions).ToArray();
        await AnswerAsync("EHLO client.test", [.. lines.Select((l, i) => (i == lines.Length - 1 ? "250 " : "250-") + l)]);
    }

    public async Task<string?> ReadLineAsync()
    {
        while (true)
        {
            var end = _buffer.IndexOf((byte)'\n');
            if (end >= 0)
            {
                var line = Encoding.UTF8.GetString(_buffer.GetRange(0, end).ToArray()).TrimEnd('\r');
                _buffer.RemoveRange(0, end + 1);
                lock (transcript)
                {
                    transcript.Add("C: " + line);
                }

                return line;
            }

            if (!await FillAsync())
            {
                return null;
            }
        }
    }

    /// <summary>The DATA content as sent, up to and including CRLF "." CRLF.</summary>
    public async Task<byte[]> ReadDataAsync()
    {
        while (true)
        {
            var bytes = _buffer.ToArray();
            var end = bytes.AsSpan().IndexOf("\r\n.\r\n"u8);
            if (end >= 0 || bytes.AsSpan().StartsWith(".\r\n"u8))
            {
                var length = end >= 0 ? end + 5 : 3;
                _buffer.RemoveRange(0, length);
                return bytes[..length];
            }

            Assert.True(await FillAsync(), "the client closed the connection during DATA");
        }
    }

    /// <summary>Reads at least <paramref name="count"/> octets of whatever comes.</summary>
    public async Task ReadAtLeastAsync(int count)
    {
        while (_buffer.Count < count)
        {
            Assert.True(await FillAsync());
        }
    }

    /// <summary>Reads until the client closes the connection.</summary>
    public async Task WaitForCloseAsync()
    {
        while (await FillAsync())
        {
        }
    }

    /// <summary>Drops the connection at once (a reset, not a polite close).</summary>
    public void Reset()
    {
        client.Client.LingerState = new LingerOption(true, 0);
        client.Close();
    }

    private async Task<bool> FillAsync()
    {
        var chunk = new byte[8192];
        var read = await _stream.ReadAsync(chunk, stop);
        _buffer.AddRange(chunk.AsSpan(0, read).ToArray());
        return read > 0;
    }
}
