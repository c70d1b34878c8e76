using Beacon.Config;

namespace Beacon.Tests.Config;

public sealed class EventsConfigTests
{
    private static List<string> Errors(params (string Key, string Value)[] values)
    {
        ConfigLoader.Load(ConfigLoader.Build(null, values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)), new Dictionary<string, string>()), out var errors);
        return errors;
    }

    [Fact]
    public void Defaults_are_sqlite_thirty_days_and_a_loopback_api_without_keys()
    {
        var options = ConfigLoader.LoadOrThrow(null, []);
        Assert.Equal(("sqlite", 30, "127.0.0.1:8081", 0), (options.Events.Store, options.Events.RetentionDays, options.Api.Listen, options.Api.Keys.Count));
    }

    [Fact]
    public void An_api_beyond_loopback_needs_keys()
    {
        Assert.Contains(Errors(("api:listen", "0.0.0.0:8081")), e => e.StartsWith("api:listen:", StringComparison.Ordinal) && e.Contains("api:keys", StringComparison.Ordinal));
        Assert.Empty(Errors(("api:listen", "0.0.0.0:8081"), ("api:keys:0", "a-long-enough-api-key")));
        Assert.Empty(Errors(("api:listen", "[::1]:8081")));
    }

    [Fact]
    public void Invalid_values_name_their_key()
    {
        Assert.Contains(Errors(("events:store", "mongodb")), e => e.StartsWith("events:store:", StringComparison.Ordinal));
        Assert.Contains(Errors(("events:retention_days", "0")), e => e.StartsWith("events:retention_days:", StringComparison.Ordinal));
        Assert.Contains(Errors(("api:keys:0", "short")), e => e.StartsWith("api:keys:0:", StringComparison.Ordinal));
        Assert.Contains(Errors(("api:listen", "nowhere")), e => e.StartsWith("api:listen:", StringComparison.Ordinal));
        Assert.Contains(Errors(("events:bogus", "1")), e => e.StartsWith("events:bogus:", StringComparison.Ordinal));
    }
}
