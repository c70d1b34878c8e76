using Beacon.Config;
using Microsoft.Extensions.Configuration;

namespace Beacon.Tests.Config;

public sealed class ConfigLoaderTests
{
    [Fact]
    public void No_configuration_gives_the_embedded_defaults()
    {
        var options = Load([], out var errors);
        Assert.Empty(errors);
        var listener = Assert.Single(options.Smtp.Listeners);
        Assert.Equal("127.0.0.1:2525", listener.Listen);
        Assert.Equal("./beacon-data", options.DataDir);
        Assert.Equal(["127.0.0.0/8", "::1/128"], listener.RelayFrom);
        Assert.Equal(ListenerExtensions.Default, listener.Extensions);
        Assert.Equal(options.NodeName, listener.Hostname);
    }

    [Fact]
    public void Unknown_keys_are_reported_with_their_full_path()
    {
        Load(new() { ["smtp:listeners:0:limts:max_recipients"] = "5", ["smpt"] = "x", ["smtp:listeners:0:relay_from:foo"] = "1" }, out var errors);
        Assert.Contains("smtp:listeners:0:limts: unknown key", errors);
        Assert.Contains("smpt: unknown key", errors);
        Assert.Contains("smtp:listeners:0:relay_from:foo: expected a list", errors);
    }

    [Theory]
    [InlineData("smtp:listeners:0:listen", "localhost", "smtp:listeners:0:listen:")]
    [InlineData("smtp:listeners:0:listen", "::1:25", "smtp:listeners:0:listen:")]
    [InlineData("smtp:listeners:0:relay_from:0", "10.0.0.0/33", "smtp:listeners:0:relay_from:0:")]
    [InlineData("smtp:listeners:0:tls", "/no/such/cert.pem", "smtp:listeners:0:tls:")]
    [InlineData("smtp:listeners:0:extensions:0", "XCLIENT", "smtp:listeners:0:extensions:0:")]
    [InlineData("smtp:listeners:0:limits:max_recipients", "0", "smtp:listeners:0:limits:max_recipients:")]
    [InlineData("smtp:listeners:0:limits:max_line_length", "100", "smtp:listeners:0:limits:max_line_length:")]
    [InlineData("smtp:listeners:0:auth:users:0:password_hash", "plaintext", "smtp:listeners:0:auth:users:0:password_hash:")]
    [InlineData("node_name", "two words", "node_name:")]
    [InlineData("engagement_tracker:listen", "8080", "engagement_tracker:listen:")]
    [InlineData("engagement_tracker:tls", "/no/such/cert.pem", "engagement_tracker:tls:")]
    [InlineData("engagement_tracker:tls_key", "/no/such/key.pem", "engagement_tracker:tls_key:")]
    [InlineData("engagement_tracker:trusted_proxies:0", "10.0.0.1", "engagement_tracker:trusted_proxies:0:")]
    [InlineData("engagement_tracker:rate_limit_per_minute", "-1", "engagement_tracker:rate_limit_per_minute:")]
    [InlineData("engagement_tracker:rate_limit_clients", "0", "engagement_tracker:rate_limit_clients:")]
    [InlineData("engagement_tracker:recipient_state_entries", "0", "engagement_tracker:recipient_state_entries:")]
    [InlineData("engagement_tracker:max_request_line_size", "100", "engagement_tracker:max_request_line_size:")]
    [InlineData("engagement_tracker:max_request_headers_total_size", "100", "engagement_tracker:max_request_headers_total_size:")]
    [InlineData("engagement_tracker:max_request_header_count", "2", "engagement_tracker:max_request_header_count:")]
    [InlineData("engagement_tracker:request_headers_timeout_seconds", "0", "engagement_tracker:request_headers_timeout_seconds:")]
    [InlineData("engagement_tracker:keep_alive_timeout_seconds", "-1", "engagement_tracker:keep_alive_timeout_seconds:")]
    [InlineData("engagement_tracker:max_connections", "0", "engagement_tracker:max_connections:")]
    public void Invalid_values_are_reported_with_the_key(string key, string value, string prefix)
    {
        Load(new() { [key] = value }, out var errors);
        Assert.Contains(errors, e => e.StartsWith(prefix, StringComparison.Ordinal));
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_key()
    {
        Load(new() { ["smtp:listeners:0:limits:max_recipients"] = "many" }, out var errors);
        Assert.Contains(errors, e => e.Contains("smtp:listeners:0:limits:max_recipients", StringComparison.Ordinal));
    }

    [Fact]
    public void Environment_overrides_the_file_and_command_line_overrides_the_environment()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, """
            // comments are allowed
            { "node_name": "from-file", "smtp": { "listeners": [ { "name": "a", "listen": "127.0.0.1:25" } ] } }
            """);
        var environment = new Dictionary<string, string> { ["BEACON_node_name"] = "from-env", ["BEACON_smtp__listeners__0__listen"] = "127.0.0.1:2526", ["OTHER"] = "x" };
        var configuration = ConfigLoader.Build(file, [new("node_name", "from-cli")], environment);
        var options = ConfigLoader.Load(configuration, out var errors);
        File.Delete(file);

        Assert.Empty(errors);
        Assert.Equal("from-cli", options.NodeName);
        Assert.Equal("127.0.0.1:2526", Assert.Single(options.Smtp.Listeners).Listen);
        Assert.Equal("a", options.Smtp.Listeners[0].Name);
    }

    [Fact]
    public void Duplicate_listener_names_are_refused()
    {
        Load(new() { ["smtp:listeners:0:name"] = "x", ["smtp:listeners:1:name"] = "X", ["smtp:listeners:1:listen"] = "127.0.0.1:2526" }, out var errors);
        Assert.Contains(errors, e => e.StartsWith("smtp:listeners:1:name:", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_or_throw_lists_every_error()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadOrThrow(null, [new("smtp:listeners:0:listen", "nowhere"), new("bogus", "1")]));
        Assert.Equal(2, e.Errors.Count);
        Assert.Contains("bogus", e.Message, StringComparison.Ordinal);
    }

    private static BeaconOptions Load(Dictionary<string, string?> values, out List<string> errors) =>
        ConfigLoader.Load(ConfigLoader.Build(null, values, new Dictionary<string, string>()), out errors);
}
