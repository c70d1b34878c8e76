using Microsoft.AspNetCore.Builder;

namespace Beacon.Api;

/// <summary>
/// Maps GET /metrics on the API listener. It sits behind the same API-key middleware as every other API route
/// (<see cref="ApiRoutes"/>): with api.keys set, a scrape needs "Authorization: Bearer KEY" (Prometheus's
/// authorization/bearer_token) or Basic with the key as user name (basic_auth); without keys the API listens on
/// loopback only.
/// </summary>
public static class PrometheusEndpoint
{
    public const string Path = "/metrics";

    public static void Map(WebApplication app, PrometheusExporter exporter) => app.MapGet(Path, exporter.HandleAsync);
}
