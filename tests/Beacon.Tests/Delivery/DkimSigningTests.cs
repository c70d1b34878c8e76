using System.Security.Cryptography;
using System.Text;
using Beacon.Config;
using Beacon.Delivery;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Delivery;

public sealed class DkimSigningTests : IDisposable
{
    private const string Message = "From: Shop <news@shop.example>\r\nTo: r@example.net\r\nSubject: Weekly\r\n"
        + "Date: Fri, 27 Nov 2026 03:00:00 +0000\r\nMessage-ID: <1@shop.example>\r\nX-Other: not signed\r\n\r\nHello\r\n";

    private readonly DkimTestKeys.Files _keys = new();

    public void Dispose() => _keys.Dispose();

    private DkimSigning Load(params DkimKeyOptions[] keys) =>
        DkimSigning.Load(keys, time: new FakeTimeProvider(DkimCorpusTests.Now));

    private static DkimCanonicalization Parse(string name) => name == "simple" ? DkimCanonicalization.Simple : DkimCanonicalization.Relaxed;

    private static string Sign(DkimSigning signing, string message) =>
        Encoding.ASCII.GetString(signing.Sign(Encoding.ASCII.GetBytes(message)) ?? []);

    [Fact]
    public void The_field_is_folded_CRLF_terminated_and_lists_only_present_headers()
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"));
        string field = Sign(signing, Message);
        Assert.StartsWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example; s=s1;", field, StringComparison.Ordinal);
        Assert.Contains("t=1795748400;", field, StringComparison.Ordinal);
        Assert.Contains("h=from:to:subject:date:message-id;", field.Replace("\r\n\t", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.EndsWith("\r\n", field, StringComparison.Ordinal);
        string[] lines = field.Split("\r\n")[..^1];
        Assert.All(lines, line => Assert.InRange(line.Length, 1, 78));
        Assert.All(lines.Skip(1), line => Assert.StartsWith("\t", line, StringComparison.Ordinal));
        DkimTestKeys.AssertVerifies(Encoding.ASCII.GetBytes(field + Message), signing);
    }

    [Theory]
    [InlineData("news@shop.example", "shop.example")]
    [InlineData("news@mail.shop.example", "shop.example")]
    [InlineData("news@a.b.shop.example", "shop.example")]
    [InlineData("news@SHOP.Example", "shop.example")]
    [InlineData("news@bulk.shop.example", "bulk.shop.example")]
    public void The_From_domain_or_its_nearest_parent_picks_the_key(string from, string domain)
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"), _keys.Key("bulk.shop.example", "ed25519-sha256"));
        string message = Message.Replace("news@shop.example", from, StringComparison.Ordinal);
        string field = Sign(signing, message);
        Assert.Contains($" d={domain};", field, StringComparison.Ordinal);
        DkimTestKeys.AssertVerifies(Encoding.ASCII.GetBytes(field + message), signing);
    }

    [Theory]
    [InlineData("From: news@other.example\r\n")]
    [InlineData("From: news@notshop.example\r\n")]
    [InlineData("From: undisclosed-recipients:;\r\n")]
    [InlineData("Sender: news@shop.example\r\n")]
    [InlineData("")]
    public void No_key_applies_gives_null(string fromField)
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"));
        string message = fromField + "To: r@example.net\r\n\r\nHello\r\n";
        Assert.Null(signing.Sign(Encoding.ASCII.GetBytes(message)));
        Assert.Null(signing.Sign(new MemoryStream(Encoding.ASCII.GetBytes(message))));
    }

    [Fact]
    public void A_key_without_sign_subdomains_signs_only_its_own_domain()
    {
        DkimKeyOptions key = _keys.Key("shop.example");
        key.SignSubdomains = false;
        using DkimSigning signing = Load(key);
        Assert.Null(signing.Sign(Encoding.ASCII.GetBytes(Message.Replace("@shop.example>", "@mail.shop.example>", StringComparison.Ordinal))));
        Assert.NotNull(signing.Sign(Encoding.ASCII.GetBytes(Message)));
    }

    [Fact]
    public void Two_keys_for_one_domain_both_sign()
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"), _keys.Key("shop.example", "ed25519-sha256"));
        string fields = Sign(signing, Message);
        Assert.Equal(2, fields.Split("DKIM-Signature:").Length - 1);
        Assert.Contains("a=ed25519-sha256;", fields, StringComparison.Ordinal);
        DkimTestKeys.AssertVerifies(Encoding.ASCII.GetBytes(fields + Message), signing, count: 2);
    }

    [Fact]
    public void A_message_with_bare_LF_signs_as_it_will_go_on_the_wire_with_CRLF()
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"), _keys.Key("shop.example", "ed25519-sha256", "simple"));
        string lf = Message.Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.Equal(Sign(signing, Message), Sign(signing, lf));
    }

    [Fact]
    public void The_stream_is_read_from_its_position_and_left_there()
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"));
        var stream = new MemoryStream([.. "junk"u8, .. Encoding.ASCII.GetBytes(Message)]) { Position = 4 };
        Assert.Equal(Sign(signing, Message), Encoding.ASCII.GetString(signing.Sign(stream)!));
        Assert.Equal(4, stream.Position);
    }

    [Theory]
    [InlineData(100, 10)]
    [InlineData(40_000, 200_000)] // a header block over the first 16 KiB read, a body over many buffers
    public void A_stream_and_a_span_give_the_same_signature(int headerBytes, int bodyBytes)
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"));
        string message = Message.Replace("X-Other: not signed\r\n", "X-Other: " + new string('h', headerBytes) + "\r\n", StringComparison.Ordinal)
            + string.Concat(Enumerable.Repeat("line  of body \t\r\n", bodyBytes / 17));
        byte[] bytes = Encoding.ASCII.GetBytes(message);
        Assert.Equal(Sign(signing, message), Encoding.ASCII.GetString(signing.Sign(new MemoryStream(bytes))!));
        DkimTestKeys.AssertVerifies([.. signing.Sign(new MemoryStream(bytes))!, .. bytes], signing);
    }

    [Fact]
    public void Repeated_header_fields_are_signed_bottom_up_and_listed_once_each()
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"));
        string message = Message.Replace("To: r@example.net\r\n", "To: r@example.net\r\nTo: s@example.net\r\n", StringComparison.Ordinal);
        string field = Sign(signing, message);
        Assert.Contains("h=from:to:to:subject:date:message-id;", field.Replace("\r\n\t", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        DkimTestKeys.AssertVerifies(Encoding.ASCII.GetBytes(field + message), signing);
    }

    [Theory]
    [InlineData(" C \r\nD \t E\r\n\r\n\r\n", "relaxed", " C\r\nD E\r\n")] // RFC 6376 §3.4.5
    [InlineData(" C \r\nD \t E\r\n\r\n\r\n", "simple", " C \r\nD \t E\r\n")]
    [InlineData("", "relaxed", "")]
    [InlineData("", "simple", "\r\n")]
    [InlineData("\r\n\r\n", "relaxed", "")]
    [InlineData("\r\n\r\n", "simple", "\r\n")]
    [InlineData("no line break", "relaxed", "no line break\r\n")]
    [InlineData("no line break", "simple", "no line break\r\n")]
    [InlineData("\r\n\r\na\n \t\nb\rc \r\n", "relaxed", "\r\n\r\na\r\n\r\nb\rc\r\n")]
    [InlineData("--b--\r\n", "relaxed", "--b--\r\n")]
    public void Body_canonicalisation_follows_RFC_6376(string body, string canonicalization, string canonical)
    {
        using var hash = new DkimBodyHash(Parse(canonicalization));
        byte[] bytes = Encoding.ASCII.GetBytes(body);
        // In pieces, so state carried across buffers (a CR at the end of one, white space runs) is exercised.
        for (int i = 0; i < bytes.Length; i += 3)
            hash.Append(bytes.AsSpan(i, Math.Min(3, bytes.Length - i)));
        Assert.Equal(Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(canonical))), Convert.ToBase64String(hash.Complete()));
    }

    [Theory]
    [InlineData("A: X\r\n", "relaxed", "a:X\r\n")] // RFC 6376 §3.4.5
    [InlineData("B : Y\t\r\n\tZ  \r\n", "relaxed", "b:Y Z\r\n")]
    [InlineData("B : Y\t\r\n\tZ  \r\n", "simple", "B : Y\t\r\n\tZ  \r\n")]
    [InlineData("Subject: a\n b\n", "simple", "Subject: a\r\n b\r\n")]
    public void Header_canonicalisation_follows_RFC_6376(string field, string canonicalization, string canonical)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        DkimHeaderCanonicalizer.Append(Encoding.ASCII.GetBytes(field), Parse(canonicalization), withLineBreak: true, output);
        Assert.Equal(canonical, Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Every_configuration_error_names_its_key()
    {
        DkimKeyOptions[] keys =
        [
            new() { Domain = "shop.example", Selector = "s1", PrivateKey = Path.Combine(_keys.Directory, "missing.pem") },
            new() { Domain = "shop example", Selector = "s 1", PrivateKey = _keys.RsaPath, Algorithm = "rsa-sha1",
                HeaderCanonicalization = "strict", BodyCanonicalization = "none", Headers = ["To", "Bad:Name"] },
            new() { Domain = "shop.example", Selector = "s1", PrivateKey = _keys.Ed25519Path, Algorithm = "rsa-sha256" },
            new() { Domain = "shop.example", Selector = "s1", PrivateKey = _keys.RsaPath, Algorithm = "ed25519-sha256" },
            new() { Domain = "shop.example", Selector = "s1", PrivateKey = "" },
        ];
        var e = Assert.Throws<ConfigException>(() => DkimSigning.Load(keys));
        Assert.Collection(e.Errors,
            m => Assert.StartsWith("delivery:dkim:0:private_key: cannot read '", m, StringComparison.Ordinal),
            m => Assert.Equal("delivery:dkim:1:domain: 'shop example' is not a domain name in ASCII (use the A-label xn--… form)", m),
            m => Assert.StartsWith("delivery:dkim:1:selector: 's 1'", m, StringComparison.Ordinal),
            m => Assert.Equal("delivery:dkim:1:algorithm: must be rsa-sha256 or ed25519-sha256, not 'rsa-sha1'", m),
            m => Assert.Equal("delivery:dkim:1:header_canonicalization: must be relaxed or simple, not 'strict'", m),
            m => Assert.Equal("delivery:dkim:1:body_canonicalization: must be relaxed or simple, not 'none'", m),
            m => Assert.Equal("delivery:dkim:1:headers:1: 'Bad:Name' is not a header field name", m),
            m => Assert.Equal("delivery:dkim:1:headers: must include From (RFC 6376 §5.4)", m),
            m => Assert.EndsWith("ed25519.pem' is not an unencrypted RSA private key in PEM (PKCS#1 or PKCS#8)", m, StringComparison.Ordinal),
            m => Assert.EndsWith("rsa.pem' is not an unencrypted Ed25519 private key in PEM (PKCS#8, \"BEGIN PRIVATE KEY\")", m, StringComparison.Ordinal),
            m => Assert.Equal("delivery:dkim:4:private_key: must be the path of a PEM file", m));
    }

    [Fact]
    public void A_selector_is_used_once_per_domain()
    {
        var e = Assert.Throws<ConfigException>(() => DkimSigning.Load([_keys.Key("shop.example"), _keys.Key("Shop.Example.")]));
        Assert.Equal("delivery:dkim:1:selector: 's1' of shop.example is already delivery:dkim:0", e.Errors.Single());
    }

    [Fact]
    public void A_short_RSA_key_is_refused()
    {
        using var rsa = RSA.Create(512);
        string path = Path.Combine(_keys.Directory, "short.pem");
        File.WriteAllText(path, rsa.ExportPkcs8PrivateKeyPem());
        var e = Assert.Throws<ConfigException>(() => DkimSigning.Load([new DkimKeyOptions { Domain = "shop.example", Selector = "s1", PrivateKey = path }]));
        Assert.Equal($"delivery:dkim:0:private_key: '{path}' is an RSA key of 512 bits is too short (RFC 8301: at least 1024, 2048 advised)", e.Errors.Single());
    }

    [Fact]
    public void The_DNS_records_are_what_receivers_need()
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"), _keys.Key("shop.example", "ed25519-sha256"));
        Assert.Collection(signing.Keys.Select(k => k.DnsRecord),
            r => Assert.StartsWith("v=DKIM1; k=rsa; p=MIIBIjAN", r, StringComparison.Ordinal),
            r => Assert.Matches("^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$", r));
    }

    [Fact]
    public void A_rendered_copy_is_signed_as_it_is_sent()
    {
        string original = Tests.Rendering.Mail.Alternative("See https://x.example/a", "<a href=\"https://x.example/b\">b</a>");
        (byte[] copy, Beacon.Rendering.RenderReport report) = Tests.Rendering.RenderHarness.Render(Encoding.ASCII.GetBytes(original));
        Assert.True(report.HtmlPartRewritten);
        using DkimSigning signing = Load(_keys.Key("shop.example"), _keys.Key("shop.example", "ed25519-sha256"));
        byte[] signature = signing.Sign(new MemoryStream(copy))!;
        DkimTestKeys.AssertVerifies([.. signature, .. copy], signing, count: 2);
    }

    [Fact]
    public void A_stream_that_cannot_seek_is_a_bug_of_the_caller()
    {
        using DkimSigning signing = Load(_keys.Key("shop.example"));
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream();
        Assert.Throws<ArgumentException>(() => signing.Sign(pipe));
    }
}
