using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Beacon.EndToEnd.Tests.Sink;

namespace Beacon.EndToEnd.Tests.Delivery;

/// <summary>
/// kill -9 a real `beacon run` in the middle of a 5,000-message run that it is delivering to a sink, restart it,
/// finish the run, and check that every recipient whose message got a 250 reached the sink (at least once).
/// </summary>
[Collection(HeavyCollection.Name)]
public sealed class DeliveryCrashTests
{
    private const int Total = 5000;
    private const int Clients = 4;

    [Fact]
    public async Task No_acknowledged_recipient_is_lost_when_the_process_is_killed_mid_run()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Loopback);
        var dataDir = Directory.CreateTempSubdirectory("beacon-dcrash-").FullName;
        var port = BeaconProcess.FreePort();
        string[] arguments = ["run", "--data", dataDir, "--set", $"smtp:listeners:0:listen=127.0.0.1:{port}", "--set", "delivery:mode=smarthost",
            "--set", $"delivery:smarthost={sink.Endpoint}", "--set", "delivery:tls=none", "--set", "delivery:retry:initial_interval=1",
            "--set", "engagement_tracker:listen=127.0.0.1:0", "--set", "api:listen=127.0.0.1:0"];
        var acknowledged = new ConcurrentDictionary<int, byte>();
        var next = -1;

        using (var beacon = BeaconProcess.Start(arguments))
        {
            await beacon.WaitForPortAsync(port);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(() => SendAsync(port, () => Interlocked.Increment(ref next), acknowledged, stop.Token))).ToArray();

            // Pull the plug while messages are arriving, waiting in the queue and in flight to the sink.
            await BeaconInstance.WaitUntilAsync(() => sink.Messages.Count >= 1500 || beacon.Process.HasExited, "1,500 messages at the sink", TimeSpan.FromSeconds(90));
            beacon.Process.Kill(entireProcessTree: true);
            await beacon.Process.WaitForExitAsync();
            await Task.WhenAll(clients);
        }

        var beforeRestart = sink.Messages.Count;
        Assert.True(acknowledged.Count < Total, "the kill came after the whole run: nothing was in flight");

        using (var restarted = BeaconProcess.Start(arguments))
        {
            await restarted.WaitForPortAsync(port);
            var rest = Enumerable.Range(0, Total).Where(i => !acknowledged.ContainsKey(i)).ToArray();
            var position = -1;
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => Task.Run(() =>
                SendAsync(port, () => Interlocked.Increment(ref position) is var p && p < rest.Length ? rest[p] : Total, acknowledged, stop.Token))));
            Assert.Equal(Total, acknowledged.Count);

            var expected = Enumerable.Range(0, Total).Select(Recipient).ToHashSet();
            await BeaconInstance.WaitUntilAsync(
                () => expected.IsSubsetOf(sink.Messages.SelectMany(m => m.Recipients)), "every recipient at the sink", TimeSpan.FromSeconds(120));
            restarted.Terminate();
            await restarted.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        // At-least-once: a copy the sink took just before the kill may come again, but only those.
        var duplicates = sink.Messages.GroupBy(m => m.Recipients[0]).Count(g => g.Count() > 1);
        Assert.True(duplicates <= beforeRestart, $"{duplicates} duplicates");
        Directory.Delete(dataDir, recursive: true);
    }

    private static string Recipient(int i) => $"user{i}@example.test";

    /// <summary>Sends message after message (numbers from <paramref name="take"/>, up to <see cref="Total"/>) until the server goes away.</summary>
    private static async Task SendAsync(int port, Func<int> take, ConcurrentDictionary<int, byte> acknowledged, CancellationToken cancel)
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port, cancel);
            var stream = tcp.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII);
            await ExpectAsync(reader, cancel);
            await stream.WriteAsync("EHLO crash.test\r\n"u8.ToArray(), cancel);
            await ExpectAsync(reader, cancel);
            for (var i = take(); i < Total; i = take())
            {
                var text = $"MAIL FROM:<crash@example.org>\r\nRCPT TO:<{Recipient(i)}>\r\nDATA\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancel);
                for (var reply = 0; reply < 3; reply++)
                {
                    await ExpectAsync(reader, cancel);
                }

                await stream.WriteAsync(Encoding.ASCII.GetBytes($"Subject: message {i}\r\nFrom: crash@example.org\r\n\r\nBody of message {i}.\r\n.\r\n"), cancel);
                await ExpectAsync(reader, cancel);
                acknowledged[i] = 0;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException)
        {
            // The server was killed: this client stops here.
        }
    }

    /// <summary>Reads one reply; anything but 2xx/3xx ends the client.</summary>
    private static async Task ExpectAsync(StreamReader reader, CancellationToken cancel)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync(cancel) ?? throw new IOException("connection closed");
            if (line.Length < 4 || line[0] is not ('2' or '3'))
            {
                throw new InvalidDataException(line);
            }

            if (line[3] == ' ')
            {
                return;
            }
        }
    }
}
