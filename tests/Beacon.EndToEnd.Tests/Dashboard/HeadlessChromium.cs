using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Beacon.EndToEnd.Tests.Dashboard;

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol with nothing but a WebSocket: started with
/// --remote-debugging-port=0, its port read from DevToolsActivePort in its own profile directory, the page's
/// debugger URL from /json, then commands (Page.navigate, Runtime.evaluate, Page.captureScreenshot, Fetch.* for
/// authentication) whose replies and events one receive loop reads. No Playwright or WebDriver, so nothing to download and nothing but loopback.
/// Disposing kills the whole process tree and removes the profile.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _replies = new();
    private readonly ConcurrentDictionary<string, Func<JsonObject, Task>> _handlers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _receiving;
    private int _nextId;

    private HeadlessChromium(Process process, string profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
        _receiving = Task.Run(ReceiveAsync);
    }

    /// <summary>Answers HTTP authentication challenges (the API's 401 with WWW-Authenticate: Basic) with these
    /// credentials, as a person typing them into the browser's dialog would; returns a counter of challenges.</summary>
    public async Task<StrongBox<int>> AnswerAuthChallengesAsync(string username, string password)
    {
        var challenges = new StrongBox<int>();
        _handlers["Fetch.authRequired"] = async e =>
        {
            Interlocked.Increment(ref challenges.Value);
            await SendAsync("Fetch.continueWithAuth", new JsonObject
            {
                ["requestId"] = (string)e["requestId"]!,
                ["authChallengeResponse"] = new JsonObject { ["response"] = "ProvideCredentials", ["username"] = username, ["password"] = password },
            });
        };
        // With the Fetch domain on, every request pauses until continued.
        _handlers["Fetch.requestPaused"] = e => SendAsync("Fetch.continueRequest", new JsonObject { ["requestId"] = (string)e["requestId"]! });
        await SendAsync("Fetch.enable", new JsonObject { ["handleAuthRequests"] = true });
        return challenges;
    }

    public static async Task<HeadlessChromium> StartAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: install Debian's chromium package (./test.sh does)");
        var profile = Directory.CreateTempSubdirectory("beacon-chromium-").FullName;
        var start = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
                 {
                     "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-background-networking", "--disable-sync", "--disable-component-update", "--metrics-recording-only",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1440,900", $"--user-data-dir={profile}", "about:blank",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { }; // chromium logs D-Bus complaints; drained so it never blocks
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var port = await ReadPortAsync(process, profile);
            using var http = new HttpClient { Timeout = CommandTimeout };
            var targets = JsonNode.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/json")))!.AsArray();
            var page = targets.First(t => (string?)t!["type"] == "page")!;
            var socket = new ClientWebSocket();
            using var timeout = new CancellationTokenSource(CommandTimeout);
            await socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), timeout.Token);
            return new HeadlessChromium(process, profile, socket);
        }
        catch
        {
            Kill(process, profile);
            throw;
        }
    }

    /// <summary>Chromium writes the port it bound into its profile directory once it listens.</summary>
    private static async Task<int> ReadPortAsync(Process process, string profile)
    {
        var file = Path.Combine(profile, "DevToolsActivePort");
        var deadline = DateTime.UtcNow + CommandTimeout;
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(process.HasExited, $"chromium exited with {(process.HasExited ? process.ExitCode : 0)} before listening");
            if (File.Exists(file))
            {
                var lines = await File.ReadAllLinesAsync(file);
                if (lines.Length > 0 && int.TryParse(lines[0], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port > 0)
                {
                    return port;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"chromium wrote no {file} within {CommandTimeout.TotalSeconds} s");
    }

    public Task NavigateAsync(string url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>Evaluates a JavaScript expression in the page; returns its value (JSON-serialisable values only).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        if (result["exceptionDetails"] is { } exception)
        {
            throw new InvalidOperationException($"the page threw: {exception.ToJsonString()}");
        }

        return result["result"]?["value"];
    }

    /// <summary>Polls a boolean expression until it is true; fails with <paramref name="what"/> after the deadline.</summary>
    public async Task WaitForAsync(string expression, string what, string? diagnostics = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            // Until the navigation has replaced the old document, the page's elements are not there yet: not done.
            if (await EvaluateAsync($"(() => {{ try {{ return !!({expression}); }} catch {{ return false; }} }})()") is JsonValue value && value.TryGetValue<bool>(out var done) && done)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                var state = diagnostics is null ? string.Empty : ": " + (await EvaluateAsync(diagnostics))?.ToJsonString();
                Assert.Fail($"timed out waiting for {what}{state}");
            }

            await Task.Delay(250);
        }
    }

    public async Task ScreenshotAsync(string path)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String((string)result["data"]!));
    }

    /// <summary>Sends one command and waits (bounded) for its reply, which the receive loop hands over.</summary>
    private async Task<JsonObject> SendAsync(string method, JsonObject parameters)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _replies[id] = reply;
        var command = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        using var timeout = new CancellationTokenSource(CommandTimeout);
        await _sending.WaitAsync(timeout.Token);
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(command.ToJsonString()), WebSocketMessageType.Text, true, timeout.Token);
        }
        finally
        {
            _sending.Release();
        }

        var message = await reply.Task.WaitAsync(CommandTimeout);
        return message["error"] is { } error
            ? throw new InvalidOperationException($"{method}: {error.ToJsonString()}")
            : message["result"]!.AsObject();
    }

    /// <summary>The one reader of the socket: replies go to their waiting command, events to their handler.</summary>
    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult received;
                do
                {
                    received = await _socket.ReceiveAsync(buffer, _closing.Token);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    message.Write(buffer, 0, received.Count);
                }
                while (!received.EndOfMessage);

                var parsed = JsonNode.Parse(message.ToArray())!.AsObject();
                if (parsed["id"] is { } id && _replies.TryRemove((int)id, out var waiting))
                {
                    waiting.SetResult(parsed);
                }
                else if (parsed["method"] is { } method && _handlers.TryGetValue((string)method!, out var handler))
                {
                    // Not awaited here: a handler sends commands, whose replies this loop must go on reading.
                    _ = Task.Run(() => handler(parsed["params"]!.AsObject()));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Closing, or chromium went away: commands still waiting fail by their own timeout.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        _socket.Dispose();
        await _receiving;
        _closing.Dispose();
        _sending.Dispose();
        Kill(_process, _profile);
    }

    private static void Kill(Process process, string profile)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }

        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (IOException)
        {
            // A file chromium's last child still held; the temp directory is cleaned by the system.
        }
    }
}
