using System.Text;
using System.Text.Json.Nodes;
using Beacon.Links;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Beacon.Tests.Links;

public sealed class LinkBuilderTests(ITestOutputHelper output) : IDisposable
{
    private readonly LinkKit _kit = new();
    private readonly ListLogger<LinkBuilder> _logger = new();

    private LinkBuilder Builder => new(_kit.Codec, _logger);

    [Fact]
    public void Click_and_open_urls_have_the_documented_shape()
    {
        var click = Builder.Build("HTTPS", "track.example.com", null, LinkKit.Click());
        var app = Builder.Build("http", "localhost:8080", "/open-in-app/ios/", LinkKit.Click());
        var open = Builder.Build("http", "localhost:8080", null, LinkKit.Open())!;

        Assert.Matches("^https://track\\.example\\.com/f/[A-Za-z0-9_-]+$", click);
        Assert.Matches("^http://localhost:8080/f/open-in-app/ios/[A-Za-z0-9_-]+$", app);
        Assert.Matches("^http://localhost:8080/q/[A-Za-z0-9_-]+$", open);
        foreach (var url in (string?[])[click, app, open])
        {
            Assert.True(_kit.Codec.TryOpenUrl(url, out _, out var rejection), rejection.ToString());
        }
    }

    [Fact]
    public void Sublinks_are_escaped_per_segment()
    {
        var url = Builder.Build("http", "h", "a b/../ü?x", LinkKit.Click())!;
        Assert.StartsWith("http://h/f/a%20b/%C3%BC%3Fx/", url, StringComparison.Ordinal);
        Assert.True(_kit.Codec.TryOpenUrl(url, out _, out _));
    }

    [Theory]
    [InlineData("ftp", "h", null)]
    [InlineData("http", "", null)]
    [InlineData("http", "h/x", null)]
    [InlineData("http", "user@h", null)]
    public void Bad_arguments_are_bugs_in_the_caller(string scheme, string domain, string? sublink) =>
        Assert.Throws<ArgumentException>(() => Builder.Build(scheme, domain, sublink, LinkKit.Click()));

    [Fact]
    public void Open_links_take_no_sublink() =>
        Assert.Throws<ArgumentException>(() => Builder.Build("http", "h", "app", LinkKit.Open()));

    [Fact]
    public void A_click_link_for_a_60_byte_target_and_200_bytes_of_metadata_stays_under_500_characters()
    {
        var target = "https://shop.example.com/spring/sale?utm_source=mail&id=4711";
        Assert.Equal(60, target.Length);
        var metadata = MetadataLimit.TrimToJson(
            new JsonObject
            {
                ["user_id"] = "u-48213577",
                ["account"] = "acme-retail-eu",
                ["segment"] = "loyal-customers-2024",
                ["order_ref"] = "ORD-2025-0619-88231",
                ["locale"] = "de-DE",
                ["ab_variant"] = "subject-line-b",
                ["sent_by"] = "marketing-automation",
            },
            180);
        metadata = metadata[..^1] + $",\"p\":\"{Noise(200 - metadata.Length - 7)}\"}}"; // exactly 200 bytes
        Assert.Equal(200, Encoding.UTF8.GetByteCount(metadata));

        var link = LinkKit.Click(target, metadata);
        var url = Builder.Build("https", "track.example.com", null, link)!;
        var noMetadata = Builder.Build("https", "track.example.com", null, link with { Metadata = null })!;
        var open = Builder.Build("https", "track.example.com", null, LinkKit.Open() with { Metadata = metadata })!;
        var bare = Builder.Build("https", "track.example.com", null, new TrackedLink
        {
            Kind = LinkKind.Click,
            MessageId = link.MessageId,
            TransmissionId = link.TransmissionId,
            Recipient = link.Recipient,
            Target = target,
            ExpiresAt = link.ExpiresAt,
        })!;
        output.WriteLine($"click, 60-byte target + 200 bytes metadata: {url.Length} characters");
        output.WriteLine($"same without metadata: {noMetadata.Length}");
        output.WriteLine($"open with 200 bytes metadata: {open.Length}");
        output.WriteLine($"click with only message id, transmission id, recipient, target: {bare.Length}");
        Assert.True(url.Length < 500, $"{url.Length} characters: {url}");
        Assert.True(_kit.Codec.TryOpenUrl(url, out var opened, out _));
        Assert.Equal(link, opened!.Link);
    }

    [Fact]
    public void Links_over_2083_bytes_are_logged_as_warnings()
    {
        var random = new Random(1);
        var target = "https://example.com/?q=" + string.Concat(Enumerable.Range(0, 3000).Select(_ => (char)random.Next('a', 'z' + 1)));
        var url = Builder.Build("http", "h", null, LinkKit.Click(target))!;
        Assert.True(url.Length > LinkBuilder.WarnLength);
        var (level, message) = Assert.Single(_logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("0000632c8b54d53f0a00", message, StringComparison.Ordinal);
        Assert.Contains(url.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), message, StringComparison.Ordinal);

        Builder.Build("http", "h", null, LinkKit.Click());
        Assert.Single(_logger.Entries);
    }

    [Fact]
    public void A_link_whose_token_the_tracker_would_refuse_is_not_built()
    {
        var random = new Random(2);
        var target = "https://example.com/?q=" + string.Concat(Enumerable.Range(0, 12_000).Select(_ => (char)random.Next('a', 'z' + 1)));
        Assert.Null(Builder.Build("http", "h", null, LinkKit.Click(target)));
        var (level, message) = Assert.Single(_logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("is not tracked", message, StringComparison.Ordinal);
    }

    public void Dispose() => _kit.Dispose();

    /// <summary>Letters and digits from a fixed seed: compresses about as badly as real ids and hashes do.</summary>
    private static string Noise(int length)
    {
        var random = new Random(3);
        const string characters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return string.Concat(Enumerable.Range(0, length).Select(_ => characters[random.Next(characters.Length)]));
    }
}
