using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Beacon.Tests.Tracker.Http;

/// <summary>
/// A bare HTTP/1.1 client over a socket: writes exactly the bytes a test gives it and reads responses by their
/// Content-Length, so malformed requests, pipelining and closed connections can be seen as they are. Every read
/// is bounded (10 s) so a server that never answers fails the test instead of hanging it.
/// </summary>
internal sealed class RawHttpClient : IDisposable
{
    private static readonly TimeSpan ReadBound = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly List<byte> _pending = [];

    private RawHttpClient(Socket socket) => _socket = socket;

    public static async Task<RawHttpClient> ConnectAsync(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint);
        return new RawHttpClient(socket);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        try
        {
            await _socket.SendAsync(bytes, SocketFlags.None);
        }
        catch (SocketException)
        {
            // The server may already have answered and closed (a refused head): what it sent is still readable.
        }
    }

    /// <summary>One response: the status line and headers (names lower-cased), and the body unless <paramref name="head"/>.</summary>
    public async Task<RawResponse> ReadResponseAsync(bool head = false)
    {
        var end = await FillUntilAsync(() => IndexOf("\r\n\r\n"u8));
        var text = Encoding.ASCII.GetString(Take(end + 4));
        var lines = text[..^4].Split("\r\n");
        var headers = new Dictionary<string, string>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(line[..colon].ToLowerInvariant(), line[(colon + 1)..].Trim());
        }

        var length = head ? 0 : int.Parse(headers["content-length"], System.Globalization.CultureInfo.InvariantCulture);
        await FillUntilAsync(() => _pending.Count >= length ? 0 : -1);
        return new RawResponse(lines[0], headers, Take(length), text);
    }

    /// <summary>True when the server has closed the connection (EOF or reset) with nothing more sent.</summary>
    public async Task<bool> IsClosedAsync()
    {
        if (_pending.Count > 0)
        {
            return false;
        }

        using var bound = new CancellationTokenSource(ReadBound);
        var buffer = new byte[1];
        try
        {
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, bound.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>Everything the server sends until it closes the connection.</summary>
    public async Task<string> ReadToEndAsync()
    {
        await FillUntilAsync(() => -1, untilClosed: true);
        return Encoding.ASCII.GetString(Take(_pending.Count));
    }

    private async Task<int> FillUntilAsync(Func<int> found, bool untilClosed = false)
    {
        using var bound = new CancellationTokenSource(ReadBound);
        var buffer = new byte[4096];
        while (true)
        {
            var at = found();
            if (at >= 0)
            {
                return at;
            }

            int received;
            try
            {
                received = await _socket.ReceiveAsync(buffer, SocketFlags.None, bound.Token);
            }
            catch (SocketException) when (untilClosed)
            {
                received = 0;
            }

            if (received == 0)
            {
                return untilClosed ? 0 : throw new IOException($"the server closed the connection; received: {Encoding.ASCII.GetString([.. _pending])}");
            }

            _pending.AddRange(buffer.AsSpan(0, received));
        }
    }

    private int IndexOf(ReadOnlySpan<byte> value) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending).IndexOf(value);

    private byte[] Take(int count)
    {
        var bytes = _pending.GetRange(0, count).ToArray();
        _pending.RemoveRange(0, count);
        return bytes;
    }

    public void Dispose() => _socket.Dispose();
}

internal sealed record RawResponse(string StatusLine, Dictionary<string, string> Headers, byte[] Body, string Head)
{
    public int Status => int.Parse(StatusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    public string BodyText => Encoding.ASCII.GetString(Body);
}
