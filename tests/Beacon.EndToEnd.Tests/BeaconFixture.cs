using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Beacon.Config;
using Beacon.Events;
using Beacon.Ingress;
using Beacon.Server;
using Beacon.Spool;
using Microsoft.Extensions.Logging;

namespace Beacon.EndToEnd.Tests;

/// <summary>A Beacon server in this process on a free loopback port, with its own temporary data directory.</summary>
public sealed class BeaconInstance : IAsyncDisposable
{
    private BeaconInstance(BeaconServer server, string dataDir)
    {
        Server = server;
        DataDir = dataDir;
    }

    public BeaconServer Server { get; }

    public string DataDir { get; }

    public IPEndPoint Smtp => Server.Listeners[0].BoundEndpoint!;

    public IPEndPoint Tracker => Server.TrackerEndpoint;

    public IPEndPoint Api => Server.ApiEndpoint;

    /// <summary>Delivery is suspended unless <paramref name="configure"/> turns it on, so that tests of ingress
    /// find their messages in the spool.</summary>
    public static async Task<BeaconInstance> StartAsync(Action<BeaconOptions>? configure = null, string? dataDir = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("beacon-e2e-").FullName;
        var options = ConfigLoader.LoadOrThrow(null, [new("data_dir", dataDir), new("node_name", "e2e"), new("smtp:listeners:0:listen", "127.0.0.1:0"),
            new("engagement_tracker:listen", "127.0.0.1:0"), new("api:listen", "127.0.0.1:0"), new("delivery:suspended", "true")]);
        configure?.Invoke(options);
        var server = await BeaconServer.StartAsync(options, consoleLifetime: false, logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        return new BeaconInstance(server, dataDir);
    }

    public IEnumerable<SpooledMessage> Queue => Server.Spool.List();

    /// <summary>The configuration of the one listener these tests start.</summary>
    public static ListenerOptions Listener(BeaconOptions options) => options.Smtp.Listeners[0];

    /// <summary>Adds user "app" with password "secret" and customer id 42 (cheap PBKDF2, so tests stay fast).</summary>
    public static void AddUser(BeaconOptions options) =>
        Listener(options).Auth.Users.Add(new UserOptions { Username = "app", PasswordHash = PasswordHash.Create("secret", 1000), CustomerId = "42" });

    /// <summary>A spooled body as delivery reads it: Beacon's Received header and the content.</summary>
    public byte[] Body(string messageId)
    {
        var message = Server.Spool.TryRead(messageId);
        Assert.NotNull(message);
        using var body = Server.Spool.OpenBody(message);
        using var copy = new MemoryStream();
        body.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>A spooled body without the Received header Beacon prepends: exactly the content the client sent.</summary>
    public byte[] Content(string messageId)
    {
        var body = Body(messageId);
        Assert.True(body.AsSpan().StartsWith("Received: "u8), "the body starts with Beacon's Received header");

        // The header is one line plus continuation lines starting with a tab.
        var end = 0;
        do
        {
            end = body.AsSpan(end).IndexOf("\r\n"u8) + end + 2;
        }
        while (end < body.Length && body[end] == (byte)'\t');
        return body[end..];
    }

    public string ContentText(string messageId) => Encoding.UTF8.GetString(Content(messageId));

    /// <summary>
    /// Events of one type (the "type" field inside msys.*), polled from the event store until at least
    /// <paramref name="count"/> are there: the pipeline writes asynchronously. Fails after the deadline.
    /// </summary>
    public async Task<IReadOnlyList<JsonObject>> WaitForEventsAsync(string type, int count = 1)
    {
        IReadOnlyList<JsonObject> found = [];
        await WaitUntilAsync(() => (found = ReadEvents(type)).Count >= count, $"{count} {type} event(s) in the event store");
        return found;
    }

    /// <summary>The stored events of one type, in sequence order (the inner objects of {"msys":{…}}).</summary>
    public IReadOnlyList<JsonObject> ReadEvents(string type)
    {
        if (!EventTypes.TryParse(type, out var parsed))
        {
            return [];
        }

        // The SQLite store completes synchronously; this helper stays synchronous for its many callers.
        var stored = Server.EventStore.ReadAfterAsync(0, int.MaxValue, new HashSet<EventType> { parsed }, CancellationToken.None).GetAwaiter().GetResult();
        return [.. stored.Select(e => (JsonObject)((JsonObject)JsonNode.Parse(e.Json)!["msys"]!).Single().Value!)];
    }

    /// <summary>Polls a condition with a deadline; the bounded wait for something that happens asynchronously.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, timeout);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
