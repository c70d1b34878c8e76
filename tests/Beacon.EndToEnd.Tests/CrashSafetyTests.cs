using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Beacon.EndToEnd.Tests;

/// <summary>
/// kill -9 a real `beacon run` process while clients are sending, restart on the same data dir, and check the
/// promise behind every 250: the message is in the spool, byte for byte, and nothing unacknowledged is half there.
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed partial class CrashSafetyTests
{
    private const int Clients = 6;

    [Fact]
    public async Task Every_acknowledged_message_survives_kill_9_byte_for_byte()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-crash-").FullName;
        var port = BeaconProcess.FreePort();
        using var beacon = BeaconProcess.Start("run", "--data", dataDir, "--set", $"smtp:listeners:0:listen=127.0.0.1:{port}", "--set", "delivery:suspended=true", "--set", "engagement_tracker:listen=127.0.0.1:0", "--set", "api:listen=127.0.0.1:0");
        await beacon.WaitForPortAsync(port);
        var process = beacon.Process;

        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, byte[]>();
        var attempted = new System.Collections.Concurrent.ConcurrentDictionary<string, byte[]>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var clients = Enumerable.Range(0, Clients).Select(i => Task.Run(() => SendUntilFailureAsync(port, i, acknowledged, attempted, stop.Token))).ToArray();

        // Let a few hundred messages through, then pull the plug while sessions are in every phase.
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (acknowledged.Count < 300 && DateTime.UtcNow < deadline && !process.HasExited)
        {
            await Task.Delay(20);
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        await Task.WhenAll(clients);
        Assert.True(acknowledged.Count >= 50, $"only {acknowledged.Count} messages were acknowledged before the kill");

        await using var restarted = await BeaconInstance.StartAsync(dataDir: dataDir);
        var spool = restarted.Server.Spool;
        var queued = spool.List().ToDictionary(m => m.MessageId);
        foreach (var (id, payload) in acknowledged)
        {
            Assert.True(queued.ContainsKey(id), $"acknowledged message {id} is missing after the crash");
            AssertBody(ReadBody(spool, queued[id]), payload);
        }

        // Messages committed whose 250 never reached the client may exist; they must be whole, never partial.
        var payloads = attempted.Values.Select(p => Convert.ToHexString(SHA256.HashData(p))).ToHashSet();
        foreach (var message in queued.Values)
        {
            var body = ReadBody(spool, message);
            Assert.Equal(message.Size, body.Length);
            Assert.Contains(Convert.ToHexString(SHA256.HashData(body.AsSpan(ReceivedHeaderLength(body)))), payloads);
        }

        Assert.Empty(Directory.GetFiles(spool.IncomingDir));
    }

    private static byte[] ReadBody(Beacon.Spool.SpoolStore spool, Beacon.Spool.SpooledMessage message)
    {
        using var body = spool.OpenBody(message);
        using var copy = new MemoryStream();
        body.CopyTo(copy);
        return copy.ToArray();
    }

    private static void AssertBody(byte[] stored, byte[] payload)
    {
        var header = ReceivedHeaderLength(stored);
        Assert.StartsWith("Received: from ", Encoding.ASCII.GetString(stored, 0, 15), StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(payload)), Convert.ToHexString(SHA256.HashData(stored.AsSpan(header))));
    }

    /// <summary>The Received header is the first header: its lines end at the first CRLF not followed by a tab.</summary>
    private static int ReceivedHeaderLength(byte[] body)
    {
        for (var i = 0; i + 2 < body.Length; i++)
        {
            if (body[i] == '\r' && body[i + 1] == '\n' && body[i + 2] != '\t')
            {
                return i + 2;
            }
        }

        return body.Length;
    }

    private static async Task SendUntilFailureAsync(
        int port, int client, System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> acknowledged,
        System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> attempted, CancellationToken cancel)
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port, cancel);
            var stream = tcp.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII);
            await ExpectAsync(reader, "220", cancel);
            await SendAsync(stream, "EHLO crash.test\r\n", cancel);
            await ExpectAsync(reader, "250 ", cancel);
            for (var n = 0; !cancel.IsCancellationRequested; n++)
            {
                var payload = Payload(client, n);
                attempted[$"{client}-{n}"] = payload;
                await SendAsync(stream, "MAIL FROM:<crash@example.org>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n", cancel);
                await ExpectAsync(reader, "250", cancel);
                await ExpectAsync(reader, "250", cancel);
                await ExpectAsync(reader, "250", cancel);
                await ExpectAsync(reader, "354", cancel);
                await stream.WriteAsync(payload, cancel);
                await SendAsync(stream, ".\r\n", cancel);
                var reply = await ExpectAsync(reader, "250", cancel);
                acknowledged[MessageId().Match(reply).Groups[1].Value] = payload;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException)
        {
            // The server was killed: this client's work ends here.
        }
    }

    private static byte[] Payload(int client, int n)
    {
        var random = new Random(client * 100_000 + n);
        var builder = new StringBuilder($"Subject: crash test {client}-{n}\r\nFrom: crash@example.org\r\n\r\n");
        for (var line = random.Next(10, 400); line > 0; line--)
        {
            builder.Append(Convert.ToHexString(RandomNumberGenerator.GetBytes(random.Next(1, 38)))).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(builder.ToString());
    }

    private static async Task SendAsync(NetworkStream stream, string text, CancellationToken cancel) =>
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancel);

    private static async Task<string> ExpectAsync(StreamReader reader, string prefix, CancellationToken cancel)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync(cancel) ?? throw new IOException("connection closed");
            if (line.Length > 3 && line[3] == '-')
            {
                continue;
            }

            return line.StartsWith(prefix, StringComparison.Ordinal) ? line : throw new InvalidDataException(line);
        }
    }

    [GeneratedRegex("OK ([0-9a-f]{20})")]
    private static partial Regex MessageId();
}
