using Beacon.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Beacon.Webhooks;

/// <summary>
/// Runs one <see cref="WebhookDispatcher"/> per configured webhook over the event store (the "webhooks" role).
/// Each node of a fleet runs one; the store's leases decide which node sends each webhook.
/// </summary>
public sealed class WebhookService : IHostedService, IAsyncDisposable
{
    /// <summary>The HttpClient name asked of the factory (for handler settings in the composition root).</summary>
    public const string HttpClientName = "webhooks";

    private readonly List<WebhookDispatcher> _dispatchers;
    private readonly ILogger _logger;
    private CancellationTokenSource? _stopping;
    private Task[] _running = [];

    /// <param name="owner">This node's name (node_name); an instance suffix is added so a restarted process doesn't
    /// mistake the lease of its dead predecessor for its own.</param>
    /// <param name="pollInterval">How often an idle dispatcher looks for new events and renews its lease; 1 s by default.</param>
    /// <param name="leaseMargin">A lease lasts the send timeout plus this (30 s by default): how long a fleet waits
    /// before another node takes over the webhooks of a node that died.</param>
    public WebhookService(IEventStore store, IReadOnlyList<WebhookOptions> webhooks, IHttpClientFactory httpClients, TimeProvider time,
        ILogger logger, string owner, TimeSpan? pollInterval = null, TimeSpan? leaseMargin = null)
    {
        _logger = logger;
        Owner = $"{owner}/{Guid.NewGuid().ToString("N")[..8]}";
        _dispatchers = [.. webhooks.Select(w =>
            new WebhookDispatcher(w, store, httpClients.CreateClient(HttpClientName), time, logger, Owner, pollInterval ?? TimeSpan.FromSeconds(1), leaseMargin))];
    }

    public string Owner { get; }

    /// <summary>One snapshot per webhook, in configuration order.</summary>
    public IReadOnlyList<WebhookStatus> Status => [.. _dispatchers.Select(d => d.Status)];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_stopping is not null)
        {
            throw new InvalidOperationException("already started");
        }

        _stopping = new CancellationTokenSource();
        var token = _stopping.Token;
        _running = [.. _dispatchers.Select(d => Task.Run(() => d.RunAsync(token), CancellationToken.None))];
        if (_dispatchers.Count > 0)
        {
            _logger.LogInformation("webhooks: {Count} dispatchers started as {Owner}", _dispatchers.Count, Owner);
        }

        return Task.CompletedTask;
    }

    /// <summary>Stops every dispatcher; a send in progress is cancelled (its batch is sent again later).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        // Disposed by both of its service registrations (singleton and hosted service): the second call is a no-op.
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping?.Dispose();
        _stopping = null;
    }
}
