using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Beacon.EndToEnd.Tests.Webhooks;

/// <summary>
/// A webhook endpoint on Kestrel at 127.0.0.1 and a free port. Each POST takes the next scripted answer — "fail"
/// (500), "hang" (never answers until the client gives up) or "ok" (200, the default once the script is done) —
/// and is recorded with its headers and the event ids of its body.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _script;

    public sealed record Request(string Answer, string BatchId, string? Token, string? Signature, byte[] Body, List<string> EventIds);

    private WebhookReceiver(WebApplication app, IEnumerable<string> script)
    {
        _app = app;
        _script = new ConcurrentQueue<string>(script);
    }

    public ConcurrentQueue<Request> Requests { get; } = new();

    public string Url { get; private set; } = string.Empty;

    public IEnumerable<Request> Accepted => Requests.Where(r => r.Answer == "ok");

    public static async Task<WebhookReceiver> StartAsync(params string[] script)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, script);
        app.MapPost("/hook", receiver.HandleAsync);
        await app.StartAsync();
        receiver.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var ids = JsonDocument.Parse(body).RootElement.EnumerateArray()
            .Select(e => e.GetProperty("msys").EnumerateObject().First().Value.GetProperty("event_id").GetString()!).ToList();
        var answer = _script.TryDequeue(out var next) ? next : "ok";
        var headers = context.Request.Headers;
        Requests.Enqueue(new Request(answer, headers["X-MessageSystems-Batch-ID"].ToString(), headers["X-MessageSystems-Webhook-Token"].FirstOrDefault(),
            headers["X-Beacon-Signature"].FirstOrDefault(), body, ids));
        switch (answer)
        {
            case "fail":
                context.Response.StatusCode = 500;
                break;
            case "hang":
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // the sender gave up, as it should
                }

                break;
            default:
                context.Response.StatusCode = 200;
                break;
        }
    }

    /// <summary>Waits (polling, bounded) until <paramref name="done"/> holds; the dispatchers run on the real clock.</summary>
    public async Task WaitUntilAsync(Func<WebhookReceiver, bool> done, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!done(this))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"webhook receiver: condition not met in {limit}; {Requests.Count} requests: " +
                    string.Join("; ", Requests.Select(r => $"{r.Answer} {r.BatchId} [{string.Join(",", r.EventIds)}]")));
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>An IHttpClientFactory for tests: a new client per webhook.</summary>
internal sealed class TestHttpClientFactory : IHttpClientFactory
{
    public HttpClient CreateClient(string name) => new();
}
