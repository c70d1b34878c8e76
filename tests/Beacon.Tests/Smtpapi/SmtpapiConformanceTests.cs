using System.Net;
using System.Text;
using Beacon.Config;
using Beacon.Ingress;
using Beacon.Smtpapi;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Tests.Smtpapi;

/// <summary>
/// One case per rule of spec §F3–F6, §F9 and decisions §5 Q4–Q8, Q25–Q26: configuration, header and context in;
/// the resolved settings or the exact SMTP reply out.
/// </summary>
public sealed class SmtpapiConformanceTests
{
    public static TheoryData<string, Case> Cases => new()
    {
        { "F3 defaults", new Case { Expect = s => s is { OpenTracking: false, ClickTracking: false, OpenTrackingScheme: "http", ClickTrackingScheme: "http", TrackingDomain: "localhost:8080", TrackingLinkExpiry: 31536000, ClickTrackingIncludeMetadata: true, MaxMetadataLen: 1000, CampaignId: null, CustomerId: null } } },
        { "F3 global configuration", new Case { Config = { ["smtpapi:open_tracking_enabled"] = "true", ["smtpapi:tracking_domain"] = "trk.example.com", ["engagement_tracker:max_metadata_len"] = "200" }, Expect = s => s is { OpenTracking: true, TrackingDomain: "trk.example.com", MaxMetadataLen: 200 } } },
        { "F3.3 schemes are lower-cased", new Case { Config = { ["smtpapi:click_tracking_scheme"] = "HTTPS" }, Expect = s => s.ClickTrackingScheme == "https" } },
        { "F3.8 listener beats global", new Case { Config = { ["smtpapi:click_tracking_enabled"] = "true", ["smtp:listeners:0:smtpapi:click_tracking_enabled"] = "false" }, Expect = s => !s.ClickTracking } },
        { "F3.8 peer beats listener", new Case { Config = { ["smtp:listeners:0:smtpapi:open_tracking_enabled"] = "false", ["smtp:listeners:0:peers:0:cidr"] = "192.0.2.0/24", ["smtp:listeners:0:peers:0:smtpapi:open_tracking_enabled"] = "true" }, Expect = s => s.OpenTracking } },
        { "F3.8 most specific CIDR wins", new Case { Config = { ["smtp:listeners:0:peers:0:cidr"] = "192.0.2.0/24", ["smtp:listeners:0:peers:0:smtpapi:tracking_domain"] = "wide.example", ["smtp:listeners:0:peers:1:cidr"] = "192.0.2.7/32", ["smtp:listeners:0:peers:1:smtpapi:tracking_domain"] = "narrow.example" }, Expect = s => s.TrackingDomain == "narrow.example" } },
        { "F3.8 a peer outside the CIDR gets the listener", new Case { Config = { ["smtp:listeners:0:peers:0:cidr"] = "198.51.100.0/24", ["smtp:listeners:0:peers:0:smtpapi:tracking_domain"] = "other.example" }, Expect = s => s.TrackingDomain == "localhost:8080" } },
        { "F4.2 all fields", new Case { Header = """{"campaign_id": "spring_sale_2024", "tags": ["promo", "eu"], "metadata": {"customer_tier": "gold", "order": "A-1009"}, "options": {"open_tracking": true, "click_tracking": false}}""", Expect = s => s is { CampaignId: "spring_sale_2024", OpenTracking: true, ClickTracking: false } && s.Tags.SequenceEqual(["promo", "eu"]) && s.Metadata!.ToJsonString() == """{"customer_tier":"gold","order":"A-1009"}""" } },
        { "F4.2 unknown fields and substitution_data are ignored", new Case { Header = """{"substitution_data": {"x": 1}, "future": [1], "campaign_id": "c"}""", Expect = s => s.CampaignId == "c" } },
        { "F4.3 header overrides configuration", new Case { Config = { ["smtpapi:open_tracking_enabled"] = "true" }, Header = """{"options": {"open_tracking": false}}""", Expect = s => !s.OpenTracking } },
        { "F4.5 folded at JSON whitespace", new Case { HeaderRaw = "{\"campaign_id\": \"spring_sale_2024\",\r\n \"options\": {\"open_tracking\": true}}", Expect = s => s is { CampaignId: "spring_sale_2024", OpenTracking: true } } },
        { "F4.5 a fold inside a string leaves its space", new Case { HeaderRaw = "{\"campaign_id\": \"spring_\r\n sale\"}", Expect = s => s.CampaignId == "spring_ sale" } },
        { "F4.6 JSON escapes", new Case { Header = """{"metadata": {"city": "M\u00fcnchen"}}""", Expect = s => (string?)s.Metadata!["city"] == "München" } },
        { "F4.6 RFC 2047 encoded word", new Case { HeaderRaw = "=?UTF-8?B?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"campaign_id\": \"été\"}")) + "?=", Expect = s => s.CampaignId == "été" } },
        { "F4.8 metadata must be an object", new Case { Header = """{"metadata": [1,2]}""", Reply = "550 5.6.0 X-MSYS-API 'metadata' must be of type 'json object'" } },
        { "F4.8 metadata as a string", new Case { Header = """{"metadata": "{\"a\":1}"}""", Reply = "550 5.6.0 X-MSYS-API 'metadata' must be of type 'json object'" } },
        { "F4.8 campaign over 64 bytes", new Case { Header = $$"""{"campaign_id": "{{new string('c', 70)}}"}""", Reply = "550 5.6.0 smtpapi_campaign_id context is limited to 64 bytes" } },
        { "F9.1 campaign of exactly 64 bytes", new Case { Header = $$"""{"campaign_id": "{{new string('é', 32)}}"}""", Expect = s => s.CampaignId!.Length == 32 } },
        { "F4.8 not JSON", new Case { Header = """{"campaign_id": """, Reply = "550 5.6.0 X-MSYS-API header is not valid JSON" } },
        { "Q7 tags must be an array", new Case { Header = """{"tags": "promo"}""", Reply = "550 5.6.0 X-MSYS-API 'tags' must be of type 'json array'" } },
        { "Q7 campaign must be a string", new Case { Header = """{"campaign_id": 7}""", Reply = "550 5.6.0 X-MSYS-API 'campaign_id' must be of type 'string'" } },
        { "Q7 options must be an object", new Case { Header = """{"options": true}""", Reply = "550 5.6.0 X-MSYS-API 'options' must be of type 'json object'" } },
        { "Q7 the header must be an object", new Case { Header = """["x"]""", Reply = "550 5.6.0 X-MSYS-API 'X-MSYS-API' must be of type 'json object'" } },
        { "Q6 boolean as string", new Case { Header = """{"options": {"open_tracking": "true", "click_tracking": "0"}}""", Expect = s => s is { OpenTracking: true, ClickTracking: false } } },
        { "Q6 boolean as number", new Case { Header = """{"options": {"open_tracking": 1, "click_tracking": 0}}""", Expect = s => s is { OpenTracking: true, ClickTracking: false } } },
        { "Q6 anything else is refused", new Case { Header = """{"options": {"open_tracking": "yes"}}""", Reply = "550 5.6.0 X-MSYS-API 'options.open_tracking' must be of type 'boolean'" } },
        { "Q6 number other than 0 or 1 is refused", new Case { Header = """{"options": {"click_tracking": 2}}""", Reply = "550 5.6.0 X-MSYS-API 'options.click_tracking' must be of type 'boolean'" } },
        { "Q30 invalid UTF-8", new Case { HeaderBytes = [(byte)'{', 0xC3, 0x28, (byte)'}'], Reply = "550 5.6.0 X-MSYS-API header is not valid UTF-8" } },
        { "hostile: nested 1,000 deep", new Case { Header = new string('[', 1000) + new string(']', 1000), Reply = "550 5.6.0 X-MSYS-API header is nested deeper than 32 levels" } },
        { "hostile: 64 KB of metadata is kept whole", new Case { Header = "{\"metadata\": {\"blob\": \"" + new string('x', 64 * 1024) + "\"}}", Expect = s => ((string?)s.Metadata!["blob"])!.Length == 64 * 1024 } },
        { "F5.1 context beats header", new Case { Message = { ["smtpapi_open_tracking"] = "false" }, Header = """{"options": {"open_tracking": true}}""", Expect = s => !s.OpenTracking } },
        { "F5.2 context data replaces header data whole", new Case { Message = { ["smtpapi_tags"] = """["ctx"]""", ["smtpapi_metadata"] = """{"from":"ctx"}""", ["smtpapi_campaign_id"] = "ctx" }, Header = """{"tags": ["a", "b"], "metadata": {"from": "header", "extra": 1}, "campaign_id": "hdr"}""", Expect = s => s.Tags.SequenceEqual(["ctx"]) && s.Metadata!.Count == 1 && s.CampaignId == "ctx" } },
        { "F5.3 scheme, domain and expiry from context", new Case { Config = { ["smtpapi:tracking_domain"] = "cfg.example" }, Message = { ["smtpapi_click_tracking_scheme"] = "HTTPS", ["smtpapi_tracking_domain"] = "trk.example.com", ["smtpapi_tracking_link_expiry"] = "604800" }, Expect = s => s is { ClickTrackingScheme: "https", TrackingDomain: "trk.example.com", TrackingLinkExpiry: 604800 } } },
        { "F5.4 configuration fills what context and header leave out", new Case { Config = { ["smtpapi:click_tracking_enabled"] = "true" }, Header = """{"options": {"open_tracking": true}}""", Expect = s => s is { OpenTracking: true, ClickTracking: true } } },
        { "F6.4 a context campaign over 64 bytes", new Case { Message = { ["smtpapi_campaign_id"] = new string('x', 65) }, Reply = "550 5.6.0 smtpapi_campaign_id context is limited to 64 bytes" } },
        { "F6.2 context metadata must be an object", new Case { Message = { ["smtpapi_metadata"] = "[1]" }, Reply = "550 5.6.0 smtpapi_metadata context must be of type 'json object'" } },
        { "F6.2 context tags must be an array", new Case { Message = { ["smtpapi_tags"] = "not json" }, Reply = "550 5.6.0 smtpapi_tags context must be of type 'json array'" } },
        { "Q3 message context before connection context", new Case { Connection = { ["smtpapi_campaign_id"] = "conn", ["smtpapi_open_tracking"] = "true" }, Message = { ["smtpapi_campaign_id"] = "mess" }, Expect = s => s is { CampaignId: "mess", OpenTracking: true } } },
        { "Q3 mo_customer_id from the connection first", new Case { Connection = { ["mo_customer_id"] = "7" }, Message = { ["mo_customer_id"] = "8" }, Expect = s => s.CustomerId == "7" } },
        { "F6.3 mo_customer_id set by policy in the message context", new Case { Message = { ["mo_customer_id"] = "8" }, Expect = s => s.CustomerId == "8" } },
        { "Q4 context booleans: yes and no, any case", new Case { Message = { ["smtpapi_open_tracking"] = "YES", ["smtpapi_click_tracking"] = "No" }, Config = { ["smtpapi:click_tracking_enabled"] = "true" }, Expect = s => s is { OpenTracking: true, ClickTracking: false } } },
        { "Q4 an unreadable context boolean falls through", new Case { Message = { ["smtpapi_open_tracking"] = "maybe" }, Header = """{"options": {"open_tracking": true}}""", Expect = s => s.OpenTracking } },
        { "Q18 a non-positive context expiry falls through", new Case { Message = { ["smtpapi_tracking_link_expiry"] = "-5" }, Config = { ["smtpapi:tracking_link_expiry"] = "86400" }, Expect = s => s.TrackingLinkExpiry == 86400 } },
        { "F3.4 an invalid context scheme falls through", new Case { Message = { ["smtpapi_open_tracking_scheme"] = "ftp" }, Expect = s => s.OpenTrackingScheme == "http" } },
        { "Q5 metadata is kept whole for message events", new Case { Header = "{\"metadata\": {\"a\": \"" + new string('a', 900) + "\", \"b\": \"" + new string('b', 900) + "\"}}", Expect = s => s.Metadata!.Count == 2 && s.MaxMetadataLen == 1000 } },
        { "F9.4 ten tags per recipient, duplicates once", new Case { Header = """{"tags": ["t1","t2","t2","t3","t4","t5","t6","t7","t8","t9","t10","t11", null, 5]}""", Expect = s => s.Tags.SequenceEqual(Enumerable.Range(1, 10).Select(i => $"t{i}")) } },
        { "Q26 default customer id", new Case { Config = { ["smtpapi:default_customer_id"] = "1" }, Expect = s => s.CustomerId == "1" } },
        { "options.transactional is kept", new Case { Header = """{"options": {"transactional": "1"}}""", Expect = s => s.Transactional == true } },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resolves_like_momentum(string rule, Case @case)
    {
        var options = ConfigLoader.Load(ConfigLoader.Build(null, @case.Config, new Dictionary<string, string>()), out var errors);
        Assert.True(errors.Count == 0, $"{rule}: {string.Join("; ", errors)}");
        var text = @case.Header ?? @case.HeaderRaw;
        var headerBytes = @case.HeaderBytes ?? (text is null ? null : Encoding.UTF8.GetBytes(text));
        var headers = MessageHeaders.Read(new MemoryStream(headerBytes is null
            ? "Subject: x\r\n\r\nbody\r\n"u8.ToArray()
            : [.. "X-MSYS-API: "u8, .. headerBytes, .. "\r\nSubject: x\r\n\r\nbody\r\n"u8]));

        var stage = new SmtpapiStage(new ScopedSmtpapi(options), new SmtpapiResolver(new TagRegistry(null), NullLogger<SmtpapiResolver>.Instance), NullLogger<SmtpapiStage>.Instance);
        var session = new Beacon.Smtp.SmtpSession(new Beacon.Smtp.SmtpSessionOptions(), "192.0.2.7", true, (_, _) => null);
        foreach (var (key, value) in @case.Connection)
        {
            session.ConnectionContext[key] = value;
        }

        var resolved = stage.TryResolve(headers, session, options.Smtp.Listeners[0], [@case.Message], out var settings, out var error);

        if (@case.Reply is not null)
        {
            Assert.False(resolved, rule);
            Assert.Equal(@case.Reply, error!.ToString());
        }
        else
        {
            Assert.True(resolved, $"{rule}: {error}");
            Assert.True(@case.Expect!(Assert.Single(settings)), $"{rule}: {System.Text.Json.JsonSerializer.Serialize(settings[0])}");
        }
    }

    [Fact]
    public void Q8_the_first_of_several_headers_counts()
    {
        var headers = MessageHeaders.Read(new MemoryStream("X-MSYS-API: {\"campaign_id\": \"first\"}\r\nX-MSYS-API: {\"campaign_id\": \"second\"}\r\n\r\n"u8.ToArray()));
        var stage = new SmtpapiStage(new ScopedSmtpapi(ConfigLoader.LoadOrThrow(null, [])), new SmtpapiResolver(new TagRegistry(null), NullLogger<SmtpapiResolver>.Instance), NullLogger<SmtpapiStage>.Instance);
        var session = new Beacon.Smtp.SmtpSession(new Beacon.Smtp.SmtpSessionOptions(), "127.0.0.1", true, (_, _) => null);
        Assert.True(stage.TryResolve(headers, session, new ListenerOptions(), [[]], out var settings, out _));
        Assert.Equal("first", settings[0].CampaignId);
    }

    [Fact]
    public void Q25_the_tag_registry_admits_100_distinct_tags_and_remembers_them_across_restarts()
    {
        var dataDir = Directory.CreateTempSubdirectory("beacon-tags-").FullName;
        var registry = new TagRegistry(dataDir);
        Assert.Equal(100, registry.Admit(Enumerable.Range(0, 100).Select(i => $"tag{i}")).Count);
        Assert.Equal(["tag5"], new TagRegistry(dataDir).Admit(["new-one", "tag5"]));
        Assert.Equal(100, new TagRegistry(dataDir).Count);
        Directory.Delete(dataDir, recursive: true);
    }

    public sealed class Case
    {
        public Dictionary<string, string?> Config { get; init; } = [];

        public Dictionary<string, string> Connection { get; init; } = [];

        public Dictionary<string, string> Message { get; init; } = [];

        /// <summary>A header value on one line.</summary>
        public string? Header { get; init; }

        /// <summary>A header value written as is (folds included).</summary>
        public string? HeaderRaw { get; init; }

        public byte[]? HeaderBytes { get; init; }

        public Func<TrackingSettings, bool>? Expect { get; init; }

        public string? Reply { get; init; }

        public override string ToString() => Reply ?? "settings";
    }
}
