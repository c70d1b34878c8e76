using System.Net;
using Beacon.Api;
using Beacon.Config;
using Beacon.Delivery;
using Beacon.Events;
using Beacon.Ingress;
using Beacon.Links;
using Beacon.Policy;
using Beacon.Queue;
using Beacon.Rendering;
using Beacon.Smtpapi;
using Beacon.Spool;
using Beacon.Tracker;
using Beacon.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Beacon.Server;

/// <summary>
/// The composition root: one process with the SMTP listeners on Kestrel, the spool, the delivery queue, the
/// tracker and the event pipeline. Start-up order: lock the data dir, build the host, recover the spool, load
/// the policy scripts, open the keyring, start delivery with the recovered messages, open the SMTP listeners,
/// open the tracker (its own small HTTP host, <see cref="TrackerHost"/>). Shutdown stops the tracker and the
/// listeners first, then delivery (in-flight attempts finish within delivery.shutdown_timeout), and the event
/// writer last, so that every event a session, a delivery or a click produced is written before the process exits.
/// </summary>
public sealed class BeaconServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SmtpIngress _ingress;
    private readonly DeliveryQueue _queue;
    private readonly EventPipeline _events;
    private readonly FileStream _lock;
    private readonly TrackerHost _tracker;
    private readonly ApiHost _api;
    private bool _stopped;

    private BeaconServer(WebApplication app, SmtpIngress ingress, DeliveryQueue queue, EventPipeline events, FileStream dataLock, IReadOnlyList<Listener> listeners, SpoolStore spool, TrackerHost tracker, ApiHost api)
    {
        _app = app;
        _tracker = tracker;
        _api = api;
        _ingress = ingress;
        _queue = queue;
        _events = events;
        _lock = dataLock;
        Listeners = listeners;
        Spool = spool;
    }

    public IReadOnlyList<Listener> Listeners { get; }

    public SpoolStore Spool { get; }

    public DeliveryQueue Queue => _queue;

    public CaptureStore Captured => _app.Services.GetRequiredService<CaptureStore>();

    /// <summary>Where events are persisted (data_dir/events/events.db by default).</summary>
    public IEventStore EventStore => _events.Store;

    /// <summary>The API's bound address (differs from api.listen when the port is 0).</summary>
    public IPEndPoint ApiEndpoint => _api.BoundEndpoint;

    /// <summary>The tracker's bound address (differs from engagement_tracker.listen when the port is 0).</summary>
    public IPEndPoint TrackerEndpoint => _tracker.BoundEndpoint;

    /// <summary>The engine's services (the real <see cref="LinkBuilder"/> and <see cref="LinkCodec"/>, for tests and tools).</summary>
    public IServiceProvider Services => _app.Services;

    public static async Task<BeaconServer> StartAsync(BeaconOptions options, bool consoleLifetime, Action<ILoggingBuilder>? logging = null)
    {
        var dataDir = Path.GetFullPath(options.DataDir);
        Directory.CreateDirectory(dataDir);
        var dataLock = LockDataDir(dataDir);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "beacon" });
        if (logging is null)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        else
        {
            logging(builder.Logging);
        }

        if (consoleLifetime)
        {
            builder.Host.UseConsoleLifetime(o => o.SuppressStatusMessages = true);
        }

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.Spool.ShutdownTimeout));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new SpoolStore(dataDir, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Beacon.Spool")));
        IEventStore store;
        try
        {
            store = await EventStores.OpenAsync(options, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await dataLock.DisposeAsync().ConfigureAwait(false);
            throw new ConfigException([$"events: cannot open the {options.Events.Store} store: {e.Message}"]);
        }

        builder.Services.AddSingleton(store);
        builder.Services.AddHttpClient();
        builder.Services.AddSingleton(sp => new WebhookService(store, options.Webhooks, sp.GetRequiredService<IHttpClientFactory>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Beacon.Webhooks"), options.NodeName));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookService>());
        builder.Services.AddSingleton(sp => new EventPipeline(sp.GetRequiredService<IEventStore>(), EventPipeline.JournalDirectory(dataDir), sp.GetRequiredService<ILogger<EventPipeline>>(),
            sp.GetRequiredService<EventPipelineMetrics>(), sp.GetRequiredService<TimeProvider>(), TimeSpan.FromSeconds(options.Events.MaxIndexLagSeconds)));
        builder.Services.AddHostedService(sp => new EventRetention(sp.GetRequiredService<IEventStore>(), options.Events.RetentionDays, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EventRetention>>()));
        builder.Services.AddSingleton(sp => new MessageIdGenerator(options.NodeName, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(sp => new TagRegistry(dataDir));
        builder.Services.AddSingleton<ScopedSmtpapi>();
        builder.Services.AddSingleton<SmtpapiResolver>();
        builder.Services.AddSingleton<SmtpapiStage>();
        builder.Services.AddSingleton<IPolicy>(sp => new LuaPolicy(options.Policy, sp.GetRequiredService<ILogger<LuaPolicy>>()));
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<MessageAcceptor>(sp, options.NodeName));
        builder.Services.AddSingleton<SmtpIngress>();
        builder.Services.AddSingleton(sp => Keyring.LoadOrCreate(Keyring.DefaultPath(dataDir), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Beacon.Links")));
        builder.Services.AddSingleton<LinkCodec>();
        builder.Services.AddSingleton<LinkBuilder>();
        builder.Services.AddSingleton(options.Delivery);
        builder.Services.AddSingleton<Router>();
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<DeliveryEvents>(sp, options.NodeName));
        builder.Services.AddSingleton<BounceNotices>();
        builder.Services.AddSingleton<DeliveryQueue>();
        builder.Services.AddSingleton(sp => new MessageRenderer(sp.GetRequiredService<ILogger<MessageRenderer>>()));
        // Keys were checked at configuration load; loading them here again cannot fail short of a file changing in between.
        builder.Services.AddSingleton(sp => DkimSigning.Load(options.Delivery.Dkim, time: sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<CopyWriter>(sp, options.NodeName));
        builder.Services.AddSingleton(sp => new CaptureStore(dataDir));
        builder.Services.AddSingleton<MxResolver>();
        builder.Services.AddSingleton<DeliveryAgent>();
        var tracker = options.EngagementTracker;
        builder.Services.AddSingleton<TrackerMetrics>();
        builder.Services.AddSingleton(_ => new RecipientStateStore(tracker.RecipientStateEntries));
        builder.Services.AddSingleton<EngagementClassifier>();
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<EngagementEvents>(sp, options.NodeName));
        builder.Services.AddSingleton(sp => new ClientRateLimiter(tracker.RateLimitPerMinute, tracker.RateLimitClients, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(_ => new ClientAddress([.. tracker.TrustedProxies.Select(c => IPNetwork.Parse(c))]));
        builder.Services.AddSingleton<TrackerHandler>();

        AddMetrics(builder.Services);
        var listeners = options.Smtp.Listeners.Select(l => new Listener(l, dataDir)).ToList();
        var bindings = new List<(Listener Listener, ListenOptions Options)>();
        // A session's code runs on the thread that completed its socket read instead of being handed to another
        // pool thread through Kestrel's I/O queue: an SMTP session is a strict request-reply loop, so the hand-off
        // bought nothing and cost ~28% of the CPU per message (docs/performance.md). The reads themselves still
        // complete on pool threads, not on the epoll thread, so a session that blocks (a slow policy script, a
        // PBKDF2 check) holds only its own connection, as before.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);

        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            foreach (var listener in listeners)
            {
                kestrel.Listen(listener.Endpoint, listen =>
                {
                    // Resolved per connection, not here: this callback runs while the host is built, and the
                    // ingress pulls in the policy, whose load errors must surface as start-up errors below.
                    var services = listen.ApplicationServices;
                    listen.Run(context => services.GetRequiredService<SmtpIngress>().HandleAsync(context, listener));
                    bindings.Add((listener, listen));
                });
            }
        });

        var control = Path.Combine(dataDir, ControlSocket.FileName);
        if (ControlSocket.Fits(control))
        {
            File.Delete(control); // left by a process that is gone: the data-dir lock says none runs
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(control, listen =>
            {
                var services = listen.ApplicationServices;
                listen.Run(context => ControlSocket.HandleAsync(context, services.GetRequiredService<DeliveryQueue>()));
            }));
        }

        var app = builder.Build();
        app.Services.GetRequiredService<PrometheusExporter>(); // listening before anything is counted
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Beacon");
        var spool = app.Services.GetRequiredService<SpoolStore>();
        var waiting = spool.Recover();
        logger.LogInformation("spool: {Count} messages waiting in {Path}", waiting.Count, spool.LogDir);
        var queue = app.Services.GetRequiredService<DeliveryQueue>();
        try
        {
            app.Services.GetRequiredService<IPolicy>();
        }
        catch (PolicyLoadException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            await dataLock.DisposeAsync().ConfigureAwait(false);
            throw new ConfigException([$"policy: {e.Message}"]);
        }

        var events = app.Services.GetRequiredService<EventPipeline>();
        var ingress = app.Services.GetRequiredService<SmtpIngress>();
        app.Lifetime.ApplicationStopping.Register(ingress.BeginShutdown);
        try
        {
            // The keyring is created on first start; a node that cannot seal links refuses to start (KeyringException).
            var sealing = app.Services.GetRequiredService<Keyring>().ActiveKey();
            logger.LogInformation("links: sealing with key {Id} of {Path}", sealing.Id, app.Services.GetRequiredService<Keyring>().Path);
            var agent = app.Services.GetRequiredService<DeliveryAgent>();
            await queue.StartAsync(waiting, agent.RunAsync).ConfigureAwait(false);
            logger.LogInformation("delivery: mode {Mode}{Smarthost}", options.Delivery.Mode, options.Delivery.Mode == "smarthost" ? $" via {options.Delivery.Smarthost}" : string.Empty);
            await app.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await queue.DisposeAsync().ConfigureAwait(false);
            await events.DisposeAsync().ConfigureAwait(false);
            await dataLock.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (!OperatingSystem.IsWindows() && File.Exists(control))
        {
            File.SetUnixFileMode(control, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        foreach (var (listener, listen) in bindings)
        {
            listener.BoundEndpoint = listen.IPEndPoint;
            logger.LogInformation("smtp {Name}: listening on {Endpoint}{Tls}", listener.Name, listen.IPEndPoint, listener.Certificate is null ? string.Empty : " (STARTTLS)");
        }

        TrackerHost trackerHost;
        try
        {
            var hostName = Smtp.Mailbox.IsDomain(options.NodeName) ? options.NodeName : "localhost";
            trackerHost = await TrackerHost.StartAsync(tracker, dataDir, hostName, app.Services.GetRequiredService<TrackerHandler>(), app.Services.GetRequiredService<ILoggerFactory>()).ConfigureAwait(false);
        }
        catch
        {
            await app.StopAsync().ConfigureAwait(false);
            await queue.DisposeAsync().ConfigureAwait(false);
            await events.DisposeAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            await dataLock.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        logger.LogInformation("tracker: listening on {Endpoint}{Tls}", trackerHost.BoundEndpoint, tracker.Tls == "none" ? string.Empty : " (HTTPS)");
        ApiHost apiHost;
        try
        {
            var webhooks = app.Services.GetRequiredService<WebhookService>();
            app.Services.GetRequiredService<WebhookMetrics>().Observe(webhooks);
            var dashboard = new Dashboard.DashboardEndpoints(queue, app.Services.GetRequiredService<CaptureStore>(), options.Delivery.Mode, options.NodeName);
            apiHost = await ApiHost.StartAsync(options.Api, events.Store, () => webhooks.Status, app.Services.GetRequiredService<TimeProvider>(), app.Services.GetRequiredService<ILoggerFactory>(),
                app.Services.GetRequiredService<PrometheusExporter>(), dashboard).ConfigureAwait(false);
        }
        catch
        {
            await trackerHost.StopAsync().ConfigureAwait(false);
            await trackerHost.DisposeAsync().ConfigureAwait(false);
            await app.StopAsync().ConfigureAwait(false);
            await queue.DisposeAsync().ConfigureAwait(false);
            await events.DisposeAsync().ConfigureAwait(false);
            await events.Store.DisposeAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            await dataLock.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        logger.LogInformation("api: listening on {Endpoint}{Keys}, dashboard at http://{Dashboard}/, metrics at /metrics; events in {Store}", apiHost.BoundEndpoint,
            options.Api.Keys.Count == 0 ? " (no API keys: loopback only)" : string.Empty, apiHost.BoundEndpoint, events.Store is SqliteEventStore sqlite ? sqlite.Path : options.Events.Store);
        return new BeaconServer(app, ingress, queue, events, dataLock, listeners, spool, trackerHost, apiHost);
    }

    /// <summary>Returns when SIGINT/SIGTERM (or <see cref="StopAsync"/>) asks the server to stop.</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        _ingress.BeginShutdown();
        await _tracker.StopAsync().ConfigureAwait(false);
        await _api.StopAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _queue.DisposeAsync().ConfigureAwait(false);
        await _events.DisposeAsync().ConfigureAwait(false);
        await _events.Store.DisposeAsync().ConfigureAwait(false);
        await _tracker.DisposeAsync().ConfigureAwait(false);
        await _api.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _lock.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>The meters of each stage (docs/metrics.md) and the exporter that serves them at GET /metrics.</summary>
    private static void AddMetrics(IServiceCollection services)
    {
        services.AddSingleton<SmtpMetrics>();
        services.AddSingleton<DeliveryMetrics>();
        services.AddSingleton<EventPipelineMetrics>();
        services.AddSingleton<WebhookMetrics>();
        services.AddSingleton(sp => new PrometheusExporter([
            sp.GetRequiredService<SmtpMetrics>().Meter, sp.GetRequiredService<DeliveryMetrics>().Meter, sp.GetRequiredService<TrackerMetrics>().Meter,
            sp.GetRequiredService<EventPipelineMetrics>().Meter, sp.GetRequiredService<WebhookMetrics>().Meter]));
    }

    /// <summary>Two processes on one spool would each recover the other's messages: refuse to start instead.</summary>
    private static FileStream LockDataDir(string dataDir)
    {
        var path = Path.Combine(dataDir, "beacon.lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new ConfigException([$"data_dir: {dataDir} is in use by another Beacon process ({path} is locked)"]);
        }
    }
}
