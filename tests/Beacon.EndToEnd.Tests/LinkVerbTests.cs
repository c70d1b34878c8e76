using System.Text.Json.Nodes;
using Beacon.Links;

namespace Beacon.EndToEnd.Tests;

/// <summary>`beacon keys rotate`, `beacon keys list`, `beacon link decode` and `beacon link encode` as an operator runs them.</summary>
public sealed class LinkVerbTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("beacon-links-").FullName;

    [Fact]
    public async Task Encode_seals_a_link_that_decode_reads_back()
    {
        var (exit, output) = await BeaconProcess.RunAsync(
            "link", "encode", "--data", _dataDir, "--target", "https://shop.example.com/sale", "--recipient", "Jane@Example.com",
            "--message-id", "0000632c8b54d53f0a00", "--campaign-id", "spring", "--link-name", "hero", "--rendered-at", "1800000000",
            "--expires-in", "-60", "--tracking-domain", "trk.example.com", "--scheme", "https");
        Assert.Equal(0, exit);
        var url = output.Trim();
        Assert.StartsWith("https://trk.example.com/f/", url, StringComparison.Ordinal);

        (exit, output) = await BeaconProcess.RunAsync("link", "decode", url, "--data", _dataDir);
        Assert.Equal(0, exit);
        var json = JsonNode.Parse(output)!;
        Assert.Equal("click", (string?)json["kind"]);
        Assert.Equal("Jane@Example.com", (string?)json["rcpt_to"]);
        Assert.Equal("https://shop.example.com/sale", (string?)json["target_link_url"]);
        Assert.Equal("hero", (string?)json["target_link_name"]);
        Assert.Equal("2027-01-15T08:00:00Z", (string?)json["rendered_at"]);
        Assert.True((bool)json["expired"]!);

        (exit, output) = await BeaconProcess.RunAsync("link", "encode", "--data", _dataDir, "--kind", "open", "--target", "https://x.example/");
        Assert.Equal(2, exit);
        Assert.Contains("--kind is click (with --target)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotate_then_decode_links_sealed_with_the_old_and_the_new_key()
    {
        var (exit, output) = await BeaconProcess.RunAsync("keys", "rotate", "--data", _dataDir);
        Assert.Equal(0, exit);
        Assert.Contains("added key 2 to ", output, StringComparison.Ordinal);
        Assert.Contains("31536000 seconds after that: the longest tracking_link_expiry", output, StringComparison.Ordinal);

        var path = Keyring.DefaultPath(_dataDir);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        var keyring = Keyring.Load(path, TimeProvider.System);
        Assert.Equal(2, keyring.ActiveKey().Id);
        var link = new TrackedLink
        {
            Kind = LinkKind.Click,
            MessageId = "0000632c8b54d53f0a00",
            TransmissionId = "65832146450776065",
            Recipient = "jöe@example.com",
            CampaignId = "spring",
            Tags = ["a", "b"],
            Metadata = """{"user":"u-1","n":2}""",
            Target = "https://shop.example.com/sale?x=1&y=2",
            LinkName = "hero",
            Unsubscribe = true,
            ExpiresAt = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds(),
            NodeName = "mta1",
        };
        var url = new LinkBuilder(new LinkCodec(keyring), Microsoft.Extensions.Logging.Abstractions.NullLogger<LinkBuilder>.Instance)
            .Build("https", "track.example.com", "app", link);

        (exit, output) = await BeaconProcess.RunAsync("link", "decode", url + "%3D?utm=1", "--data", _dataDir);
        Assert.Equal(0, exit);
        var json = JsonNode.Parse(output)!.AsObject();
        Assert.Equal("click", (string?)json["kind"]);
        Assert.Equal(2, (int?)json["key_id"]);
        Assert.Equal("0000632c8b54d53f0a00", (string?)json["message_id"]);
        Assert.Equal("65832146450776065", (string?)json["transmission_id"]);
        Assert.Equal("jöe@example.com", (string?)json["rcpt_to"]);
        Assert.Equal("spring", (string?)json["campaign_id"]);
        Assert.Equal("""["a","b"]""", json["rcpt_tags"]!.ToJsonString());
        Assert.Equal("u-1", (string?)json["rcpt_meta"]!["user"]);
        Assert.Equal("https://shop.example.com/sale?x=1&y=2", (string?)json["target_link_url"]);
        Assert.Equal("hero", (string?)json["target_link_name"]);
        Assert.True((bool?)json["unsubscribe"]);
        Assert.False((bool?)json["expired"]);
        Assert.Equal("mta1", (string?)json["node_name"]);

        // A link sealed before the rotation still decodes with the older key; an expired one says so.
        var old = new LinkCodec(keyring);
        var expired = old.Seal(link with { Kind = LinkKind.Open, Target = null, LinkName = null, Unsubscribe = false, ExpiresAt = 1_600_000_000 });
        (exit, output) = await BeaconProcess.RunAsync("link", "decode", expired, "--data", _dataDir);
        Assert.Equal(0, exit);
        json = JsonNode.Parse(output)!.AsObject();
        Assert.Equal("open", (string?)json["kind"]);
        Assert.True((bool?)json["expired"]);
        Assert.Equal("2020-09-13T12:26:40Z", (string?)json["expires_at"]);

        (exit, output) = await BeaconProcess.RunAsync("keys", "list", "--data", _dataDir);
        Assert.Equal(0, exit);
        Assert.Matches(@"\n\s+1  opening ", output);
        Assert.Matches(@"\n\s+2  sealing ", output);
        Assert.DoesNotContain(Convert.ToBase64String(keyring.Keys[0].Secret), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tampered_link_is_refused_with_the_reason()
    {
        Assert.Equal(0, (await BeaconProcess.RunAsync("keys", "rotate", "--data", _dataDir, "--keep", "60")).Exit);
        var token = new LinkCodec(Keyring.Load(Keyring.DefaultPath(_dataDir), TimeProvider.System)).Seal(new TrackedLink
        {
            Kind = LinkKind.Click,
            MessageId = "00000000000000000001",
            Recipient = "a@b",
            Target = "https://example.com/",
            ExpiresAt = 0,
        });
        var tampered = token[..^3] + (token[^3] == 'A' ? 'B' : 'A') + token[^2..];

        var (exit, output) = await BeaconProcess.RunAsync("link", "decode", $"http://localhost:8080/f/{tampered}", "--data", _dataDir);
        Assert.Equal(1, exit);
        Assert.Contains("not a valid tracked link: the token was altered or sealed with another keyring (AuthenticationFailed)", output, StringComparison.Ordinal);

        (exit, output) = await BeaconProcess.RunAsync("link", "decode", $"http://localhost:8080/q/{token}", "--data", _dataDir);
        Assert.Equal(1, exit);
        Assert.Contains("(WrongKind)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decode_without_a_keyring_says_where_it_looked()
    {
        var (exit, output) = await BeaconProcess.RunAsync("link", "decode", "http://h/f/AAAA", "--data", _dataDir);
        Assert.Equal(1, exit);
        Assert.Contains(Keyring.DefaultPath(_dataDir), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_creates_the_keyring_on_first_start()
    {
        await using var beacon = await BeaconInstance.StartAsync(dataDir: _dataDir);
        var keyring = Keyring.Load(Keyring.DefaultPath(_dataDir), TimeProvider.System);
        Assert.Equal(1, Assert.Single(keyring.Keys).Id);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }
}
