using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DnsClient;

namespace Beacon.EndToEnd.Tests.Sink;

/// <summary>
/// An authoritative-only DNS server for delivery tests: dnsmasq (Debian's dnsmasq-base) as a child process on
/// 127.0.0.1 and a free port, UDP and TCP, answering only from <see cref="DnsRecords"/> — no /etc/resolv.conf,
/// no /etc/hosts, no upstream, so every other name is NXDOMAIN. It stands in for the outside world's DNS.
/// </summary>
public sealed class DnsServer : IDisposable
{
    public const string Dnsmasq = "/usr/sbin/dnsmasq";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log;

    private DnsServer(Process process, ConcurrentQueue<string> log, IPEndPoint endpoint)
    {
        _process = process;
        _log = log;
        Endpoint = endpoint;
    }

    public IPEndPoint Endpoint { get; }

    /// <summary>dnsmasq's log so far (start-up and every query), for failure messages.</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>Starts dnsmasq and returns once it answers a query; a port taken meanwhile is retried on another.</summary>
    public static async Task<DnsServer> StartAsync(DnsRecords records)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var log = new ConcurrentQueue<string>();
            var start = new ProcessStartInfo(Dnsmasq) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in (string[])[
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-daemon", "--bind-interfaces",
                "--listen-address=127.0.0.1", $"--port={port}", "--log-facility=-", "--log-queries",
                "--local=/#/", // every name not configured is answered here: NXDOMAIN, never forwarded
            ])
            {
                start.ArgumentList.Add(argument);
            }

            foreach (var argument in records.ToDnsmasqArguments())
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            process.ErrorDataReceived += (_, e) => Collect(log, e.Data);
            process.OutputDataReceived += (_, e) => Collect(log, e.Data);
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var server = new DnsServer(process, log, new IPEndPoint(IPAddress.Loopback, port));
            if (await server.WaitUntilAnsweringAsync(TimeSpan.FromSeconds(10)))
            {
                return server;
            }

            server.Dispose();
            var inUse = log.Any(l => l.Contains("Address already in use", StringComparison.Ordinal));
            if (!inUse || attempt == 5)
            {
                throw new InvalidOperationException($"dnsmasq did not answer on {server.Endpoint}: {server.Log}");
            }
        }
    }

    /// <summary>A resolver that asks only this server, without a cache.</summary>
    public LookupClient Client() => new(new LookupClientOptions(Endpoint) { UseCache = false, Timeout = TimeSpan.FromSeconds(2), Retries = 1 });

    public void Dispose()
    {
        try
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // already exited
        }

        _process.Dispose();
    }

    private static void Collect(ConcurrentQueue<string> log, string? line)
    {
        if (line is not null)
        {
            log.Enqueue(line);
        }
    }

    /// <summary>A port free for both UDP and TCP on 127.0.0.1 right now (dnsmasq listens on both).</summary>
    private static int FreePort()
    {
        while (true)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // taken for TCP: try another
            }
        }
    }

    /// <summary>Polls with a query until dnsmasq answers (any answer, NXDOMAIN included) or has exited.</summary>
    private async Task<bool> WaitUntilAnsweringAsync(TimeSpan timeout)
    {
        var client = new LookupClient(new LookupClientOptions(Endpoint) { UseCache = false, Timeout = TimeSpan.FromMilliseconds(200), Retries = 0 });
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                await client.QueryAsync("probe.invalid", QueryType.A);
                return true;
            }
            catch (DnsResponseException)
            {
                await Task.Delay(20);
            }
        }

        return false;
    }
}
