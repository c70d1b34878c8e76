using System.Buffers.Text;
using System.Text;
using System.Text.Json.Nodes;
using Beacon.Links;

namespace Beacon.Tests.Links;

public sealed class LinkCodecTests : IDisposable
{
    private readonly LinkKit _kit = new();

    [Fact]
    public void Every_field_survives_a_round_trip()
    {
        var link = LinkKit.Click() with { Unsubscribe = true, Tags = ["a", "b", "ünïcode"] };
        var token = _kit.Codec.Seal(link);

        Assert.True(_kit.Codec.TryOpen(token, out var opened, out var rejection), rejection.ToString());
        Assert.Equal(link, opened!.Link);
        Assert.Equal(1, opened.KeyId);
        Assert.Equal("65832146450776065", opened.Link.TransmissionId);
        Assert.Equal(["a", "b", "ünïcode"], opened.Link.Tags);
        Assert.True(opened.Link.Unsubscribe);
    }

    [Fact]
    public void Rendered_at_is_optional_and_a_token_without_it_opens_as_before()
    {
        var rendered = LinkKit.Click() with { RenderedAt = LinkKit.Start.ToUnixTimeSeconds() };
        Assert.True(_kit.Codec.TryOpen(_kit.Codec.Seal(rendered), out var opened, out _));
        Assert.Equal(LinkKit.Start.ToUnixTimeSeconds(), opened!.Link.RenderedAt);
        Assert.Equal(rendered, opened.Link);

        // Without it, the payload is byte for byte what it was before the field existed: no presence bit, no bytes.
        var plain = LinkKit.Open() with { Metadata = null }; // short enough to be stored, not compressed
        var withField = plain with { RenderedAt = 1 };
        Assert.Equal(LinkPayload.Write(plain).Length + 1, LinkPayload.Write(withField).Length);
        Assert.True(_kit.Codec.TryOpen(_kit.Codec.Seal(plain), out opened, out _));
        Assert.Null(opened!.Link.RenderedAt);
        Assert.Throws<ArgumentException>(() => _kit.Codec.Seal(plain with { RenderedAt = -1 }));
    }

    [Fact]
    public void A_unicode_recipient_and_1000_bytes_of_metadata_survive()
    {
        var metadata = new JsonObject();
        for (var i = 0; MetadataLimit.ByteCount(metadata) < 1000; i++)
        {
            metadata[$"key_{i}"] = $"välue {i} 日本語 ✉";
        }

        var json = MetadataLimit.TrimToJson(metadata, 1000);
        Assert.InRange(Encoding.UTF8.GetByteCount(json), 950, 1000);
        var link = LinkKit.Click(metadata: json) with { Recipient = "用户@例子.广告", LinkName = "名前" };

        Assert.True(_kit.Codec.TryOpen(_kit.Codec.Seal(link), out var opened, out _));
        Assert.Equal(link, opened!.Link);
        Assert.Equal("用户@例子.广告", opened.Link.Recipient);
    }

    [Theory]
    [InlineData(LinkKind.Open)]
    [InlineData(LinkKind.InitialOpen)]
    public void Open_links_round_trip_with_only_the_required_fields(LinkKind kind)
    {
        var link = new TrackedLink { Kind = kind, MessageId = "ffffffffffffffffffff", Recipient = "", ExpiresAt = 0 };
        Assert.True(_kit.Codec.TryOpen(_kit.Codec.Seal(link), out var opened, out _));
        Assert.Equal(link, opened!.Link);
        Assert.Null(opened.Link.TransmissionId);
        Assert.Empty(opened.Link.Tags);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("18446744073709551615")]
    [InlineData("0042")]
    [InlineData("tx-7")]
    [InlineData("")]
    public void Transmission_ids_come_back_as_the_same_text(string id)
    {
        var link = LinkKit.Click() with { TransmissionId = id };
        Assert.True(_kit.Codec.TryOpen(_kit.Codec.Seal(link), out var opened, out _));
        Assert.Equal(id, opened!.Link.TransmissionId);
    }

    [Fact]
    public void A_changed_byte_anywhere_is_rejected()
    {
        var bytes = Base64Url.DecodeFromChars(_kit.Codec.Seal(LinkKit.Click()));
        for (var i = 0; i < bytes.Length; i++)
        {
            foreach (var flip in (byte[])[0x01, 0x80, 0xFF])
            {
                var tampered = (byte[])bytes.Clone();
                tampered[i] ^= flip;
                Assert.False(_kit.Codec.TryOpen(Base64Url.EncodeToString(tampered), out var opened, out var rejection), $"byte {i} ^ {flip:x2}");
                Assert.Null(opened);
                var expected = i switch
                {
                    0 => LinkRejection.UnknownVersion,
                    1 => Enum.IsDefined((LinkKind)tampered[1]) ? LinkRejection.AuthenticationFailed : LinkRejection.UnknownKind,
                    2 or 3 => LinkRejection.UnknownKey,
                    _ => LinkRejection.AuthenticationFailed,
                };
                Assert.Equal(expected, rejection);
            }
        }
    }

    [Fact]
    public void A_changed_character_anywhere_is_rejected()
    {
        var token = _kit.Codec.Seal(LinkKit.Click());
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (var i = 0; i < token.Length; i++)
        {
            var replacement = alphabet[(alphabet.IndexOf(token[i], StringComparison.Ordinal) + 1 + (i % 63)) % alphabet.Length];
            var tampered = string.Concat(token.AsSpan(0, i), replacement.ToString(), token.AsSpan(i + 1));
            Assert.False(_kit.Codec.TryOpen(tampered, out _, out _), $"character {i}");
        }
    }

    [Fact]
    public void Dropping_bytes_from_the_end_is_rejected_as_truncated_or_unauthentic()
    {
        var bytes = Base64Url.DecodeFromChars(_kit.Codec.Seal(LinkKit.Open()));
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(_kit.Codec.TryOpen(Base64Url.EncodeToString(bytes.AsSpan(0, length)), out _, out var rejection));
            Assert.Equal(length == 0 ? LinkRejection.Empty : length < 33 ? LinkRejection.Truncated : LinkRejection.AuthenticationFailed, rejection);
        }
    }

    [Fact]
    public void An_unknown_key_id_is_rejected()
    {
        var bytes = Base64Url.DecodeFromChars(_kit.Codec.Seal(LinkKit.Click()));
        bytes[2] = 0x12;
        bytes[3] = 0x34;
        Assert.False(_kit.Codec.TryOpen(Base64Url.EncodeToString(bytes), out _, out var rejection));
        Assert.Equal(LinkRejection.UnknownKey, rejection);
    }

    [Fact]
    public void A_token_from_another_keyring_with_the_same_key_id_fails_authentication()
    {
        using var other = new LinkKit();
        Assert.False(_kit.Codec.TryOpen(other.Codec.Seal(LinkKit.Click()), out _, out var rejection));
        Assert.Equal(LinkRejection.AuthenticationFailed, rejection);
    }

    [Fact]
    public void An_old_key_still_opens_its_links_until_it_retires()
    {
        var old = _kit.Codec.Seal(LinkKit.Click());
        Keyring.Rotate(_kit.KeyringPath, _kit.Time, TimeSpan.Zero, TimeSpan.FromDays(365));
        _kit.Time.Advance(TimeSpan.FromMinutes(1)); // the next look at the file finds the rotation
        var fresh = _kit.Codec.Seal(LinkKit.Click());

        Assert.True(_kit.Codec.TryOpen(fresh, out var opened, out _));
        Assert.Equal(2, opened!.KeyId);
        Assert.True(_kit.Codec.TryOpen(old, out opened, out _));
        Assert.Equal(1, opened!.KeyId);

        _kit.Time.Advance(TimeSpan.FromDays(365));
        Assert.False(_kit.Codec.TryOpen(old, out _, out var rejection));
        Assert.Equal(LinkRejection.KeyRetired, rejection);
        Assert.True(_kit.Codec.TryOpen(fresh, out _, out _));

        // The next rotation prunes the retired key; its links then name an unknown key.
        Keyring.Rotate(_kit.KeyringPath, _kit.Time, TimeSpan.Zero, TimeSpan.FromDays(365));
        Assert.False(new LinkCodec(Keyring.Load(_kit.KeyringPath, _kit.Time)).TryOpen(old, out _, out rejection));
        Assert.Equal(LinkRejection.UnknownKey, rejection);
        Assert.True(_kit.Codec.TryOpen(fresh, out _, out _));
    }

    [Fact]
    public void Expired_links_still_open_and_say_so()
    {
        var link = LinkKit.Click() with { ExpiresAt = LinkKit.Start.AddSeconds(10).ToUnixTimeSeconds() };
        var token = _kit.Codec.Seal(link);
        _kit.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(_kit.Codec.TryOpen(token, out var opened, out _));
        Assert.True(opened!.Link.IsExpired(_kit.Time.GetUtcNow()));
        Assert.False(opened.Link.IsExpired(LinkKit.Start));
    }

    [Fact]
    public void Padded_percent_encoded_and_decorated_urls_decode()
    {
        var token = _kit.Codec.Seal(LinkKit.Click());
        var pad = (4 - (token.Length % 4)) % 4;
        var equals = token + new string('=', pad);
        var tilde = token + new string('~', pad);
        string[] urls =
        [
            $"http://localhost:8080/f/{token}",
            $"http://localhost:8080/f/{equals}",
            $"http://localhost:8080/f/{tilde}",
            $"http://localhost:8080/f/{equals.Replace("=", "%3D", StringComparison.Ordinal)}",
            $"http://localhost:8080/f/{equals.Replace("=", "%253D", StringComparison.Ordinal)}",
            $"http://localhost:8080/f/{tilde.Replace("~", "%7E", StringComparison.Ordinal)}",
            $"https://t.example.com/f/open-in-app/{token}?utm=1#top",
            $"https://t.example.com/f/a/b/{token}/",
            $"/f/{token}",
            Uri.EscapeDataString($"https://t.example.com/f/{equals}"),
            $"  https://T.EXAMPLE.COM/f/{Uri.EscapeDataString(tilde)}  ",
        ];

        foreach (var url in urls)
        {
            Assert.True(_kit.Codec.TryOpenUrl(url, out var opened, out var rejection), $"{url}: {rejection}");
            Assert.Equal(LinkKit.Click(), opened!.Link);
        }
    }

    [Fact]
    public void Padding_needs_no_particular_length()
    {
        // Tokens of every length modulo 3, so that both one and two pad characters occur.
        for (var extra = 0; extra < 3; extra++)
        {
            var token = _kit.Codec.Seal(LinkKit.Open() with { NodeName = new string('n', extra) + "x" });
            var pad = (4 - (token.Length % 4)) % 4;
            Assert.True(_kit.Codec.TryOpen(token + new string('~', pad), out _, out _));
            Assert.True(_kit.Codec.TryOpen(token + new string('=', pad), out _, out _));
            Assert.False(_kit.Codec.TryOpen(token + "===", out _, out _));
        }
    }

    [Fact]
    public void A_click_token_does_not_open_as_an_open_and_the_reverse()
    {
        var click = _kit.Codec.Seal(LinkKit.Click());
        var open = _kit.Codec.Seal(LinkKit.Open());
        var initial = _kit.Codec.Seal(LinkKit.Open(LinkKind.InitialOpen));

        Assert.False(_kit.Codec.TryOpenUrl($"http://h/q/{click}", out _, out var rejection));
        Assert.Equal(LinkRejection.WrongKind, rejection);
        Assert.False(_kit.Codec.TryOpenUrl($"http://h/o/{click}", out _, out rejection));
        Assert.Equal(LinkRejection.WrongKind, rejection);
        Assert.False(_kit.Codec.TryOpenUrl($"http://h/f/{open}", out _, out rejection));
        Assert.Equal(LinkRejection.WrongKind, rejection);
        Assert.True(_kit.Codec.TryOpenUrl($"http://h/q/{initial}", out var opened, out _));
        Assert.Equal(LinkKind.InitialOpen, opened!.Link.Kind);
        Assert.True(_kit.Codec.TryOpenUrl($"http://h/o/{open}", out opened, out _));
        Assert.Equal(LinkKind.Open, opened!.Link.Kind);

        // Rewriting the kind byte itself breaks the seal: the kind is associated data.
        var bytes = Base64Url.DecodeFromChars(click);
        bytes[1] = (byte)LinkKind.Open;
        Assert.False(_kit.Codec.TryOpenUrl($"http://h/q/{Base64Url.EncodeToString(bytes)}", out _, out rejection));
        Assert.Equal(LinkRejection.AuthenticationFailed, rejection);
    }

    [Theory]
    [InlineData(null, LinkRejection.Empty)]
    [InlineData("", LinkRejection.Empty)]
    [InlineData("http://h/f/", LinkRejection.Empty)]
    [InlineData("http://h/", LinkRejection.UnknownRoute)]
    [InlineData("http://h", LinkRejection.UnknownRoute)]
    [InlineData("http://h/x/AAAA", LinkRejection.UnknownRoute)]
    [InlineData("http://h/q/sub/AAAA", LinkRejection.UnknownRoute)]
    [InlineData("http://h/f/AA+A", LinkRejection.BadEncoding)]
    [InlineData("http://h/f/A", LinkRejection.BadEncoding)]
    [InlineData("http://h/f/AB", LinkRejection.BadEncoding)] // non-zero unused bits: not the canonical spelling of one byte
    [InlineData("http://h/f/AQ", LinkRejection.Truncated)]
    [InlineData("http://h/f/Ag", LinkRejection.UnknownVersion)]
    public void Malformed_urls_map_to_a_reason(string? url, LinkRejection expected)
    {
        Assert.False(_kit.Codec.TryOpenUrl(url, out var opened, out var rejection));
        Assert.Null(opened);
        Assert.Equal(expected, rejection);
    }

    [Fact]
    public void Oversize_input_is_refused_before_decoding()
    {
        Assert.False(_kit.Codec.TryOpen(new string('A', LinkCodec.MaxTokenChars + 1), out _, out var rejection));
        Assert.Equal(LinkRejection.TooLong, rejection);
        Assert.False(_kit.Codec.TryOpenUrl("http://h/f/" + new string('A', 20_000), out _, out rejection));
        Assert.Equal(LinkRejection.TooLong, rejection);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(20250601);
        var valid = Base64Url.DecodeFromChars(_kit.Codec.Seal(LinkKit.Click()));
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 700)];
            random.NextBytes(bytes);
            if (i % 2 == 0 && bytes.Length >= 4)
            {
                valid.AsSpan(0, 4).CopyTo(bytes); // a plausible header, so the AES-GCM path runs too
            }

            var token = Base64Url.EncodeToString(bytes);
            Assert.False(_kit.Codec.TryOpen(token, out var opened, out var rejection));
            Assert.Null(opened);
            Assert.NotEqual(LinkRejection.None, rejection);
        }
    }

    [Fact]
    public void Random_strings_never_throw()
    {
        var random = new Random(42);
        const string characters = "ABCxyz019-_=~%/?#:.+ 3DEFé✉\0\r\n&";
        string[] prefixes = ["", "/f/", "/q/", "/o/", "http://h/f/", "https://h/f/sub/", "%2Ff%2F", "http://h/q/"];
        for (var i = 0; i < 20_000; i++)
        {
            var text = new StringBuilder(prefixes[random.Next(prefixes.Length)]);
            for (var n = random.Next(0, 300); n > 0; n--)
            {
                text.Append(characters[random.Next(characters.Length)]);
            }

            Assert.False(_kit.Codec.TryOpenUrl(text.ToString(), out var opened, out var rejection));
            Assert.Null(opened);
            Assert.NotEqual(LinkRejection.None, rejection);
            Assert.False(_kit.Codec.TryOpen(text.ToString(), out _, out _));
        }
    }

    [Fact]
    public void Random_plaintexts_never_throw_in_the_payload_reader()
    {
        // What a key holder could seal: the reader must survive it too (decompression bombs included).
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 400)];
            random.NextBytes(bytes);
            if (bytes.Length > 0)
            {
                bytes[0] = (byte)(i % 4);
            }

            _ = LinkPayload.TryRead(bytes, (LinkKind)(1 + (i % 3)), out _);
        }

        var zeros = new byte[1024 * 1024];
        var bomb = new byte[System.IO.Compression.BrotliEncoder.GetMaxCompressedLength(zeros.Length)];
        Assert.True(System.IO.Compression.BrotliEncoder.TryCompress(zeros, bomb, out var written, 5, 22));
        Assert.False(LinkPayload.TryRead([1, .. bomb.AsSpan(0, written)], LinkKind.Open, out _));
    }

    [Fact]
    public void Short_payloads_are_stored_and_long_ones_compressed_when_that_is_shorter()
    {
        Assert.Equal(0, LinkPayload.Write(LinkKit.Open() with { Metadata = null, Tags = [] })[0]);
        Assert.Equal(1, LinkPayload.Write(LinkKit.Click(metadata: MetadataLimit.TrimToJson(new JsonObject { ["a"] = new string('a', 300) }, 1000)))[0]);
    }

    [Fact]
    public void Seal_refuses_links_no_event_could_come_from()
    {
        Assert.Throws<ArgumentException>(() => _kit.Codec.Seal(LinkKit.Click() with { MessageId = "not-hex" }));
        Assert.Throws<ArgumentException>(() => _kit.Codec.Seal(LinkKit.Click() with { MessageId = "0000632C8B54D53F0A00" }));
        Assert.Throws<ArgumentException>(() => _kit.Codec.Seal(LinkKit.Click() with { Target = null }));
        Assert.Throws<ArgumentException>(() => _kit.Codec.Seal(LinkKit.Open() with { Target = "https://x" }));
    }

    [Fact]
    public void Every_token_is_different_even_for_the_same_link()
    {
        var tokens = Enumerable.Range(0, 100).Select(_ => _kit.Codec.Seal(LinkKit.Click())).ToHashSet();
        Assert.Equal(100, tokens.Count);
    }

    public void Dispose() => _kit.Dispose();
}
