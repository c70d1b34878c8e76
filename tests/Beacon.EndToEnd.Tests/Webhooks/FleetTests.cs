using Beacon.EndToEnd.Tests.Postgres;
using Beacon.Webhooks;

namespace Beacon.EndToEnd.Tests.Webhooks;

/// <summary>
/// Two Beacon nodes on one PostgreSQL event store with one webhook: mail injected into both, delivered by both,
/// every event reaches the endpoint exactly once (one node holds the webhook's lease; cursors are shared).
/// </summary>
[Collection("postgres")]
public sealed class FleetTests(PostgresServer server)
{
    [Fact]
    public async Task Two_nodes_on_one_postgres_store_send_every_event_once()
    {
        var connection = server.ConnectionString(await server.CreateDatabaseAsync("fleet"));
        await using var receiver = await WebhookReceiver.StartAsync("fail");
        void Configure(Config.BeaconOptions o, string node)
        {
            o.NodeName = node;
            o.Delivery.Suspended = false;
            o.Events.Store = "postgres";
            o.Events.ConnectionString = connection;
            o.Webhooks.Add(new WebhookOptions
            {
                Name = "crm",
                Target = receiver.Url,
                Events = ["injection", "delivery"],
                BatchSize = 7,
                BatchInterval = 0.2,
                Timeout = 2,
                RetryBase = 0.2,
                RetryMaxInterval = 1,
            });
        }

        await using var one = await BeaconInstance.StartAsync(o => Configure(o, "node-1"));
        await using var two = await BeaconInstance.StartAsync(o => Configure(o, "node-2"));
        for (var i = 0; i < 10; i++)
        {
            await Delivery.MxDeliveryTests.SendAsync(i % 2 == 0 ? one : two, $"reader{i}@example.com");
        }

        // 10 injections and 10 deliveries, from two nodes, each sent once; the first POST failed and was retried.
        await receiver.WaitUntilAsync(r => r.Accepted.Sum(a => a.EventIds.Count) >= 20, TimeSpan.FromSeconds(60));
        var ids = receiver.Accepted.SelectMany(a => a.EventIds).ToList();
        Assert.Equal(20, ids.Count);
        Assert.Equal(20, ids.Distinct().Count());
        Assert.Equal("fail", receiver.Requests.First().Answer);
        Assert.Equal(receiver.Requests.First().BatchId, receiver.Accepted.First().BatchId);

        // Each node reports the webhook; the shared cursor has caught up.
        using var http = new HttpClient();
        var status = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(new Uri($"http://{one.Server.ApiEndpoint}/api/v1/webhooks/status")))!;
        var hook = status["results"]![0]!;
        Assert.Equal("crm", (string?)hook["name"]);
        await BeaconInstance.WaitUntilAsync(async () =>
            (long?)System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(new Uri($"http://{two.Server.ApiEndpoint}/api/v1/webhooks/status")))!["results"]![0]!["lag"] == 0,
            "the webhook's lag to reach 0");
    }

    [Fact]
    public async Task Two_beacon_run_processes_on_one_postgres_store_send_every_event_once()
    {
        var connection = server.ConnectionString(await server.CreateDatabaseAsync("fleetproc"));
        await using var receiver = await WebhookReceiver.StartAsync("fail");
        var nodes = new List<(BeaconProcess Process, int Port, string DataDir)>();
        try
        {
            foreach (var name in new[] { "node-a", "node-b" })
            {
                var dataDir = Directory.CreateTempSubdirectory("beacon-fleet-").FullName;
                var port = BeaconProcess.FreePort();
                nodes.Add((BeaconProcess.Start("run", "--data", dataDir, "--set", $"node_name={name}",
                    "--set", $"smtp:listeners:0:listen=127.0.0.1:{port}", "--set", "engagement_tracker:listen=127.0.0.1:0", "--set", "api:listen=127.0.0.1:0",
                    "--set", "events:store=postgres", "--set", $"events:connection_string={connection}",
                    "--set", "webhooks:0:name=crm", "--set", $"webhooks:0:target={receiver.Url}", "--set", "webhooks:0:events:0=injection",
                    "--set", "webhooks:0:events:1=delivery", "--set", "webhooks:0:batch_size=7", "--set", "webhooks:0:batch_interval=0.2",
                    "--set", "webhooks:0:timeout=2", "--set", "webhooks:0:retry_base=0.2", "--set", "webhooks:0:retry_max_interval=1"), port, dataDir));
            }

            foreach (var (process, port, _) in nodes)
            {
                await process.WaitForPortAsync(port);
            }

            for (var i = 0; i < 10; i++)
            {
                await using var client = await TestSmtpClient.ConnectEhloAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, nodes[i % 2].Port));
                Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<news@example.org>")).Code);
                Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<reader{i}@example.com>")).Code);
                Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
                Assert.Equal(250, (await client.CommandAsync($"Subject: fleet {i}\r\n\r\nhello\r\n.")).Code);
            }

            // 10 injections and 10 deliveries (capture) from two processes; one of them holds the lease and sends.
            await receiver.WaitUntilAsync(r => r.Accepted.Sum(a => a.EventIds.Count) >= 20, TimeSpan.FromSeconds(60));
            var ids = receiver.Accepted.SelectMany(a => a.EventIds).ToList();
            Assert.Equal(20, ids.Distinct().Count());
            Assert.Equal(20, ids.Count);
        }
        finally
        {
            foreach (var (process, _, dataDir) in nodes)
            {
                process.Terminate();
                await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
                process.Dispose();
                Directory.Delete(dataDir, recursive: true);
            }
        }
    }
}
