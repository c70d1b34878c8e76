using System.Globalization;
using System.Net.Http.Headers;

namespace Beacon.Webhooks;

/// <summary>The outcome of one POST: success is any 2xx within the timeout.</summary>
public readonly record struct SendResult(bool Success, int? StatusCode, string? Error);

/// <summary>
/// POSTs one batch with Momentum's headers (token, batch id), Beacon's signature and the webhook's custom headers.
/// Shared by the dispatcher and `beacon webhooks replay`. Never throws for the endpoint's failures: a refused
/// connection, a timeout or a 500 are all a failed <see cref="SendResult"/>.
/// </summary>
public sealed class WebhookSender(WebhookOptions options, HttpClient client, TimeProvider time)
{
    private static readonly string UserAgent =
        "Beacon/" + (typeof(WebhookSender).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    public async Task<SendResult> SendAsync(WebhookBatch batch, CancellationToken cancellation)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Timeout), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Target) { Content = new ByteArrayContent(batch.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        request.Headers.TryAddWithoutValidation("X-MessageSystems-Batch-ID", batch.Id.ToString());
        if (!string.IsNullOrEmpty(options.AuthToken))
        {
            request.Headers.TryAddWithoutValidation("X-MessageSystems-Webhook-Token", options.AuthToken);
        }

        if (options.Secrets.Count > 0)
        {
            request.Headers.TryAddWithoutValidation(WebhookSignature.Header, WebhookSignature.Sign(batch.Body, time.GetUtcNow().ToUnixTimeSeconds(), options.Secrets));
        }

        foreach (var (name, value) in options.CustomHeaders)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? new SendResult(true, status, null)
                : new SendResult(false, status, $"HTTP {status.ToString(CultureInfo.InvariantCulture)} {response.ReasonPhrase}");
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return new SendResult(false, null, $"no answer within {options.Timeout.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (HttpRequestException e)
        {
            return new SendResult(false, null, e.Message);
        }
    }
}
