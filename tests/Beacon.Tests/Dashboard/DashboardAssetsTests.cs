using System.Text;
using System.Text.RegularExpressions;
using Beacon.Dashboard;

namespace Beacon.Tests.Dashboard;

/// <summary>The page is whole: everything it loads is embedded, and nothing it loads comes from another site.</summary>
public sealed partial class DashboardAssetsTests
{
    private readonly DashboardAssets _assets = new();

    [Fact]
    public void Every_file_the_page_and_its_modules_load_is_embedded_and_served_from_this_origin()
    {
        var names = _assets.Names.ToHashSet(StringComparer.Ordinal);
        Assert.Contains("index.html", names);
        var wanted = new Queue<string>(["index.html"]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (wanted.TryDequeue(out var name))
        {
            if (!seen.Add(name))
            {
                continue;
            }

            Assert.True(names.Contains(name), $"{name} is referenced but not embedded");
            var text = Read(name);
            Assert.DoesNotMatch(Remote(), text); // no CDN, fonts or scripts from elsewhere
            foreach (Match reference in Reference().Matches(text))
            {
                wanted.Enqueue(reference.Groups[1].Value);
            }
        }

        // The page loads its style sheet and its entry module; the entry module pulls in the rest.
        Assert.Superset(new HashSet<string>(["index.html", "dashboard.css", "dashboard.js", "dom.js", "chart.js", "events.js", "mail.js", "metrics.js", "status.js"]), seen);
        Assert.Equal(names.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal)); // and nothing embedded is unused
    }

    private static string Read(string name)
    {
        using var stream = typeof(DashboardAssets).Assembly.GetManifestResourceStream("Beacon.Dashboard.assets." + name)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>src="/dashboard/x", href="/dashboard/x", and module imports from './x.js'.</summary>
    [GeneratedRegex("""(?:(?:src|href)="/dashboard/|from '\./)([a-z]+\.(?:js|css))["']""")]
    private static partial Regex Reference();

    [GeneratedRegex("""(?:src|href)="(?:https?:)?//|@import|url\(\s*['"]?https?:|from '(?:https?:)?//""")]
    private static partial Regex Remote();
}
