using System.Net;

namespace Beacon.Tests.Webhooks;

/// <summary>Answers each POST with the next scripted status (the last one repeats); 0 means a timeout.</summary>
internal sealed class ScriptedHandler(TimeProvider time, params int[] script) : HttpMessageHandler
{
    public List<Received> Requests { get; } = [];

    public sealed record Received(DateTimeOffset At, Dictionary<string, string> Headers, byte[] Body)
    {
        public string BatchId => Headers["X-MessageSystems-Batch-ID"];
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var headers = request.Headers.Concat(request.Content!.Headers).ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        Requests.Add(new Received(time.GetUtcNow(), headers, await request.Content.ReadAsByteArrayAsync(cancellationToken)));
        var status = script[Math.Min(Requests.Count - 1, script.Length - 1)];
        if (status == 0)
        {
            throw new TaskCanceledException("the endpoint did not answer");
        }

        return new HttpResponseMessage((HttpStatusCode)status);
    }
}
