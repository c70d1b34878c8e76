using System.Reflection;
using System.Text.RegularExpressions;
using Beacon.Config;
using Microsoft.Extensions.Configuration;

namespace Beacon.EndToEnd.Tests;

/// <summary>Runs the examples of docs/x-msys-api.md over SMTP, so the documentation can't drift from Beacon.</summary>
public sealed partial class DocsExamplesTests
{
    [Fact]
    public async Task Every_x_msys_api_example_in_the_docs_gets_the_reply_the_docs_show()
    {
        var examples = SmtpBlock().Matches(await File.ReadAllTextAsync(Repository.PathOf("docs/x-msys-api.md")));
        Assert.True(examples.Count >= 5, "docs/x-msys-api.md lost its examples");
        await using var beacon = await BeaconInstance.StartAsync();
        await using var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp);
        foreach (Match example in examples)
        {
            var header = example.Groups[1].Value.ReplaceLineEndings("\r\n");
            var expected = example.Groups[2].Value.Trim();
            var reply = await PolicyTests.SendAsync(client, header + "Subject: docs example\r\n\r\nbody\r\n");
            Assert.True(reply.ToString().StartsWith(expected, StringComparison.Ordinal), $"{header}=> expected '{expected}', got '{reply}'");
        }
    }

    [Fact]
    public async Task The_policy_docs_show_the_example_script_that_the_tests_run()
    {
        var docs = (await File.ReadAllTextAsync(Repository.PathOf("docs/policy.md"))).ReplaceLineEndings("\n");
        var script = (await File.ReadAllTextAsync(Repository.PathOf("examples/policy.lua"))).ReplaceLineEndings("\n");
        Assert.Contains(script.Trim(), docs, StringComparison.Ordinal);
    }

    [Fact]
    public void The_example_configuration_loads_as_beacon_config_check_would()
    {
        // Its policy script is relative to the repository root, where the README runs it from.
        var options = ConfigLoader.LoadOrThrow(Repository.PathOf("examples/beacon.json"), [new("policy:scripts:0", Repository.PathOf("examples/policy.lua"))]);
        Assert.Equal("capture", options.Delivery.Mode);
        Assert.Equal("example.net", Assert.Single(options.Delivery.Domains).Domain);
    }

    [Theory]
    [InlineData(typeof(DeliveryOptions))]
    [InlineData(typeof(RetryOptions))]
    [InlineData(typeof(DomainRouteOptions))]
    [InlineData(typeof(DkimKeyOptions))]
    public async Task Every_delivery_key_is_in_the_example_and_in_the_configuration_docs(Type options)
    {
        var example = await File.ReadAllTextAsync(Repository.PathOf("examples/beacon.json"));
        var docs = await File.ReadAllTextAsync(Repository.PathOf("docs/configuration.md"));
        foreach (var key in options.GetProperties().Select(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name).OfType<string>())
        {
            Assert.Contains($"\"{key}\"", example, StringComparison.Ordinal);
            Assert.Matches($"\\| `([a-z_]+\\.)?{key}(\\.[a-z_]+)?` \\|", docs);
        }
    }

    [GeneratedRegex(@"```smtp\n(.*?\n)=> (.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex SmtpBlock();
}
