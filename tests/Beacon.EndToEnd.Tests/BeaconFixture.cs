using System.Net;
using Beacon.Config;
using Beacon.Server;
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

    public static async Task<BeaconInstance> StartAsync(Action<BeaconOptions>? configure = null, string? dataDir = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("beacon-e2e-").FullName;
        var options = ConfigLoader.LoadOrThrow(null, [new("data_dir", dataDir), new("node_name", "e2e"), new("smtp:listeners:0:listen", "127.0.0.1:0")]);
        configure?.Invoke(options);
        var server = await BeaconServer.StartAsync(options, consoleLifetime: false, logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        return new BeaconInstance(server, dataDir);
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
