using Beacon.Config;

namespace Beacon.Tests.Webhooks;

public sealed class WebhookConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("beacon-webhooks-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static BeaconOptions Load(List<string> errors, params (string Key, string Value)[] settings)
    {
        var configuration = ConfigLoader.Build(null, settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)), new Dictionary<string, string>());
        var options = ConfigLoader.Load(configuration, out var found);
        errors.AddRange(found);
        return options;
    }

    [Fact]
    public void Webhooks_bind_from_the_configuration_with_custom_headers_and_secrets()
    {
        var errors = new List<string>();
        var options = Load(errors,
            ("webhooks:0:name", "crm"), ("webhooks:0:target", "https://hooks.example.com/beacon"), ("webhooks:0:events:0", "click"),
            ("webhooks:0:events:1", "open"), ("webhooks:0:auth_token", "t"), ("webhooks:0:custom_headers:X-Tenant", "acme"),
            ("webhooks:0:secrets:0", "0123456789abcdef0123"), ("webhooks:0:batch_size", "50"), ("webhooks:0:batch_interval", "0.5"));

        Assert.Empty(errors);
        var hook = Assert.Single(options.Webhooks);
        Assert.Equal(("crm", "https://hooks.example.com/beacon", "t", 50, 0.5), (hook.Name, hook.Target, hook.AuthToken, hook.BatchSize, hook.BatchInterval));
        Assert.Equal(["click", "open"], hook.Events);
        Assert.Equal("acme", hook.CustomHeaders["X-Tenant"]);
        Assert.Equal(6, hook.Timeout);
    }

    [Fact]
    public void Invalid_webhooks_are_errors_naming_the_key()
    {
        var errors = new List<string>();
        Load(errors, ("webhooks:0:target", "ftp://x"), ("webhooks:0:events:0", "clicks"), ("webhooks:0:batch_size", "0"),
            ("webhooks:0:secrets:0", "short"), ("webhooks:0:colour", "red"), ("webhooks:1:target", "http://a.example/"), ("webhooks:1:events:0", "open"),
            ("webhooks:2:target", "http://a.example/"), ("webhooks:2:events:0", "open"), ("webhooks:0:timeout", "0"));

        Assert.Contains("webhooks:0:colour: unknown key", errors);
        Assert.Contains(errors, e => e.StartsWith("webhooks:0:target:", StringComparison.Ordinal));
        Assert.Contains("webhooks:0:events:0: 'clicks' is not an event type", errors);
        Assert.Contains(errors, e => e.StartsWith("webhooks:0:batch_size:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("webhooks:0:secrets:0:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("webhooks:0:timeout:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("webhooks:2:name:", StringComparison.Ordinal)); // same default name (the target)
    }

    [Fact]
    public void A_momentum_webhooks_file_adds_its_webhooks()
    {
        var file = Path.Combine(_directory, "webhooks.json");
        File.WriteAllText(file, """
            // Momentum 4.2.31+ format
            [
              { "name": "bounces", "events": ["bounce", "out_of_band", "ad_status"], "target": "http://127.0.0.1:9000/b",
                "auth_token": "abc", "custom_headers": { "X-Env": "prod" } },
              { "events": ["click"], "target": "http://127.0.0.1:9000/c" }
            ]
            """);
        var errors = new List<string>();

        var options = Load(errors, ("webhooks_file", file), ("webhooks:0:name", "inline"), ("webhooks:0:target", "http://127.0.0.1:9000/i"), ("webhooks:0:events:0", "open"));

        Assert.Empty(errors);
        Assert.Equal(["inline", "bounces", null], options.Webhooks.Select(w => w.Name));
        Assert.Equal("prod", options.Webhooks[1].CustomHeaders["X-Env"]);
    }

    [Fact]
    public void The_example_webhooks_file_is_valid()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory.FullName, "Beacon.slnx")))
        {
            directory = directory.Parent!;
        }

        var errors = new List<string>();
        var options = Load(errors, ("webhooks_file", Path.Combine(directory.FullName, "examples", "webhooks.json")));

        Assert.Empty(errors);
        Assert.Equal(2, options.Webhooks.Count);
        Assert.Equal(2, options.Webhooks[0].Secrets.Count);
    }

    [Fact]
    public void A_broken_webhooks_file_is_an_error()
    {
        var file = Path.Combine(_directory, "webhooks.json");
        File.WriteAllText(file, """[ { "target": "http://x.example/", "events": ["open"], "colour": "red" } ]""");
        var errors = new List<string>();

        Load(errors, ("webhooks_file", file));
        Load(errors, ("webhooks_file", Path.Combine(_directory, "missing.json")));

        Assert.Equal(2, errors.Count(e => e.StartsWith("webhooks_file:", StringComparison.Ordinal)));
    }
}
