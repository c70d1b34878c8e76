using Beacon.Dashboard;
using Beacon.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Beacon.Api;

/// <summary>
/// The API's pipeline: API keys first (401 in SparkPost's shape), then the routes, then a JSON 404 for anything
/// else. A store error answers 500 with the same shape and is logged by the caller's logger.
/// </summary>
public static class ApiRoutes
{
    public static void Map(WebApplication app, ApiKeys keys, IEventStore store, IEventMetrics? metrics, Func<object> webhooks, TimeProvider time, ILogger logger, DashboardEndpoints? dashboard = null)
    {
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
            {
                logger.LogError(e, "api: {Method} {Path} failed", context.Request.Method, context.Request.Path);
                if (!context.Response.HasStarted)
                {
                    context.Response.Clear();
                    await ApiErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "Internal error", "the event store could not answer; see the server log", "1000").ConfigureAwait(false);
                }
            }
        });

        app.Use(async (context, next) =>
        {
            if (!keys.Accepts(context.Request.Headers.Authorization))
            {
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"beacon\"";
                await ApiErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized.", "a valid API key is required in the Authorization header", ApiErrors.Unauthorized).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });

        var events = new MessageEventsApi(store, time);
        app.MapGet(MessageEventsApi.Path, events.HandleAsync);
        if (metrics is not null)
        {
            var api = new MetricsApi(metrics, time);
            foreach (var (suffix, grouping) in MetricsApi.Groupings)
            {
                app.MapGet(MetricsApi.Prefix + suffix, context => api.HandleAsync(context, grouping));
            }
        }

        // Per webhook: last success, consecutive failures, last error, lag, dropped batches (docs/webhooks.md).
        app.MapGet("/api/v1/webhooks/status", () => Results.Json(new { results = webhooks() }));
        dashboard?.Map(app, store, time, logger); // the page at / and its endpoints (docs/dashboard.md), behind the same keys
        app.MapFallback(context => ApiErrors.WriteAsync(context, StatusCodes.Status404NotFound, "Resource could not be found", $"no resource at {context.Request.Method} {context.Request.Path}", ApiErrors.NotFound));
    }
}
