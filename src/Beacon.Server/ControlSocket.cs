using System.Buffers;
using System.Net.Sockets;
using System.Text;
using Beacon.Queue;
using Microsoft.AspNetCore.Connections;

namespace Beacon.Server;

/// <summary>
/// How `beacon queue retry|bounce` reaches a running server (like postqueue reaching Postfix's master): a Unix
/// socket at data_dir/control.sock, owner-only, one command line in, one reply line out: "retry ID" or
/// "bounce ID" → "ok" or "error: …". Only someone who can write the data directory can use it.
/// </summary>
internal static class ControlSocket
{
    public const string FileName = "control.sock";

    /// <summary>Unix socket paths are limited to 107 bytes (sun_path); a deeper data dir runs without the socket.</summary>
    public static bool Fits(string path) => Encoding.UTF8.GetByteCount(path) < 108;

    public static async Task HandleAsync(ConnectionContext connection, DeliveryQueue queue)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        while (true)
        {
            var read = await input.ReadAsync().ConfigureAwait(false);
            var buffer = read.Buffer;
            var newline = buffer.PositionOf((byte)'\n');
            if (newline is null)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted || buffer.Length > 256)
                {
                    return;
                }

                continue;
            }

            var line = Encoding.ASCII.GetString(buffer.Slice(0, newline.Value)).Trim();
            input.AdvanceTo(buffer.GetPosition(1, newline.Value));
            var reply = await ExecuteAsync(line, queue).ConfigureAwait(false);
            await output.WriteAsync(Encoding.UTF8.GetBytes(reply + "\n")).ConfigureAwait(false);
        }
    }

    /// <summary>Sends one command; null when no server listens on the socket.</summary>
    public static async Task<string?> SendAsync(string dataDir, string command)
    {
        var path = Path.Combine(Path.GetFullPath(dataDir), FileName);
        if (!File.Exists(path) || !Fits(path))
        {
            return null;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            return null; // a socket file left by a process that is gone
        }

        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\n")).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false) ?? "error: the server closed the control socket";
    }

    private static async Task<string> ExecuteAsync(string line, DeliveryQueue queue)
    {
        var parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2)
        {
            return "error: expected \"retry ID\" or \"bounce ID\"";
        }

        var found = parts[0] switch
        {
            "retry" => queue.Retry(parts[1]),
            "bounce" => await queue.BounceAsync(parts[1]).ConfigureAwait(false),
            _ => (bool?)null,
        };
        return found switch
        {
            true => "ok",
            false => $"error: no message {parts[1]} is waiting for delivery",
            null => $"error: unknown command '{parts[0]}'",
        };
    }
}
