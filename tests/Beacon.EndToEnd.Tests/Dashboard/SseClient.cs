using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Beacon.EndToEnd.Tests.Dashboard;

/// <summary>
/// A server-sent events reader over a real HTTP connection, as EventSource reads one: "id:" and "data:" lines,
/// a blank line ends an event, lines starting with ":" are comments. Every read has a deadline.
/// </summary>
internal sealed class SseClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseClient(HttpClient http, HttpResponseMessage response, StreamReader reader)
    {
        _http = http;
        _response = response;
        _reader = reader;
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Opens the stream; the response headers have arrived when this returns (the server writes a first
    /// comment at once), so the stream's starting point is fixed by then.</summary>
    public static async Task<SseClient> OpenAsync(BeaconInstance beacon, string query, string? lastEventId = null)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{beacon.Api}"), Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/v1/events/stream" + query, UriKind.Relative));
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var client = new SseClient(http, response, reader);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal("retry: 2000", await client.ReadLineAsync());
        }

        return client;
    }

    /// <summary>The next event: its id (the store sequence) and the inner object of {"msys":{…}}.</summary>
    public async Task<(long Id, JsonObject Event)> ReadEventAsync()
    {
        string? id = null;
        var data = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync();
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    Assert.NotNull(id);
                    var json = (JsonObject)JsonNode.Parse(string.Join('\n', data))!;
                    var inner = (JsonObject)((JsonObject)json["msys"]!).Single().Value!;
                    return (long.Parse(id, CultureInfo.InvariantCulture), inner);
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                continue;
            }

            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(line[6..]);
            }
        }
    }

    private async Task<string> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await _reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException("the server ended the event stream");
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
