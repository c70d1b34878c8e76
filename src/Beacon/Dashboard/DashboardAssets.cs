using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Beacon.Dashboard;

/// <summary>
/// The dashboard's page, its JavaScript modules and its style sheet, embedded in the assembly (EmbeddedResource
/// Dashboard/assets/*): the dashboard loads nothing from outside Beacon, needs no build step, and a deployed
/// binary always serves the page that matches its API. Served with a Content-Security-Policy that allows only
/// this origin's own script and styles, and an ETag so a reload costs a 304.
/// </summary>
internal sealed class DashboardAssets
{
    /// <summary>The page's policy: its own script and CSS only; the mail viewer's frame from this origin only.</summary>
    public const string PagePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const string Prefix = "Beacon.Dashboard.assets.";

    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly FrozenDictionary<string, Asset> _assets;

    public DashboardAssets()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            var file = name[Prefix.Length..];
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var tag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 8)) + "\"";
            assets[file] = new Asset(bytes, Types.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream"), tag);
        }

        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The embedded file names (index.html, dashboard.js, chart.js, …).</summary>
    public IEnumerable<string> Names => _assets.Keys;

    /// <summary>Writes one asset, or returns false when there is none by that name (the caller answers 404).</summary>
    public async Task<bool> TryServeAsync(HttpContext context, string name)
    {
        if (!_assets.TryGetValue(name, out var asset))
        {
            return false;
        }

        var response = context.Response;
        response.Headers.ContentSecurityPolicy = PagePolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-cache"; // revalidate: the ETag makes that cheap, and an upgrade shows at once
        response.Headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return true;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        await response.Body.WriteAsync(asset.Content, context.RequestAborted).ConfigureAwait(false);
        return true;
    }

    private sealed record Asset(byte[] Content, string ContentType, string ETag);
}
