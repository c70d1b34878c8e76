using System.Text.RegularExpressions;

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

    [GeneratedRegex(@"```smtp\n(.*?\n)=> (.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex SmtpBlock();
}
