using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Beacon.EndToEnd.Tests;

/// <summary>The real `beacon` executable in a child process, as an operator runs it.</summary>
internal sealed class BeaconProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private BeaconProcess(Process process) => _process = process;

    public Process Process => _process;

    public string Output => string.Join('\n', _output);

    public static BeaconProcess Start(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "beacon.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new BeaconProcess(Process.Start(start)!);
        process._process.OutputDataReceived += (_, e) => process.Collect(e.Data);
        process._process.ErrorDataReceived += (_, e) => process.Collect(e.Data);
        process._process.BeginOutputReadLine();
        process._process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs a short verb to completion and returns its exit code and output.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(params string[] arguments)
    {
        using var process = Start(arguments);
        process._process.StandardInput.Close();
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (process._process.ExitCode, process.Output);
    }

    public async Task WaitForPortAsync(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"beacon did not listen on port {port}: {Output}");
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        _process.WaitForExit(); // drains the redirected output
    }

    /// <summary>SIGTERM, as systemd or `kill` sends it.</summary>
    public void Terminate() => Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }
}
