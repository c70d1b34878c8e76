using System.Text;
using Beacon.Rendering;

namespace Beacon.Tests.Rendering;

public sealed class CodecTests
{
    [Theory]
    [InlineData("caf=C3=A9 =\r\nline=3d2\r\nnext =  \r\nend=", "caf\u00e9 line=2\r\nnext end")]
    [InlineData("a=\nb", "ab")]
    public void Quoted_printable_decodes_soft_breaks_and_lowercase_hex(string encoded, string decoded)
    {
        byte[] source = Encoding.ASCII.GetBytes(encoded);
        byte[] destination = new byte[source.Length];
        Assert.True(QuotedPrintable.TryDecode(source, destination, out int written));
        Assert.Equal(decoded, Encoding.UTF8.GetString(destination, 0, written));
    }

    [Theory]
    [InlineData("a=ZZ")]
    [InlineData("a=4")]
    [InlineData("a= x")]
    public void Malformed_quoted_printable_is_refused(string encoded)
    {
        byte[] source = Encoding.ASCII.GetBytes(encoded);
        Assert.False(QuotedPrintable.TryDecode(source, new byte[source.Length], out _));
    }

    [Fact]
    public void Quoted_printable_round_trips_with_lines_of_at_most_76()
    {
        var random = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            byte[] data = new byte[random.Next(0, 600)];
            random.NextBytes(data);
            for (int j = 0; j < data.Length; j++)
            {
                if (random.Next(3) > 0)
                    data[j] = (byte)" aZ=\t.\r\n"[random.Next(8)];
            }

            using var stream = new MemoryStream();
            using (var output = new OutputBuffer(stream))
                QuotedPrintable.Encode(data, "\r\n"u8, output);
            byte[] encoded = stream.ToArray();
            Assert.True(PartRewriter.LongestLine(encoded) <= QuotedPrintable.MaxLineLength);
            byte[] decoded = new byte[encoded.Length];
            Assert.True(QuotedPrintable.TryDecode(encoded, decoded, out int written));
            Assert.Equal(data, decoded[..written]);
        }
    }

    [Fact]
    public void Base64_round_trips_in_76_character_lines()
    {
        byte[] data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 31)).ToArray();
        using var stream = new MemoryStream();
        using (var output = new OutputBuffer(stream))
            Base64Body.Encode(data, "\r\n"u8, endWithNewline: true, output);
        string encoded = Encoding.ASCII.GetString(stream.ToArray());
        Assert.Equal(Convert.ToBase64String(data, Base64FormattingOptions.InsertLineBreaks) + "\r\n", encoded);
        byte[] decoded = new byte[encoded.Length];
        Assert.True(Base64Body.TryDecode(Encoding.ASCII.GetBytes(encoded), decoded, out int written));
        Assert.Equal(data, decoded[..written]);
    }

    [Theory]
    [InlineData("QUJD\r\nREVG", true, "ABCDEF")]
    [InlineData("QUI", true, "AB")]
    [InlineData("QUI=", true, "AB")]
    [InlineData("Q", false, "")]
    [InlineData("QUI=QUJD", false, "")]
    [InlineData("QU!D", false, "")]
    public void Base64_decoding_is_strict(string encoded, bool ok, string decoded)
    {
        byte[] destination = new byte[encoded.Length];
        Assert.Equal(ok, Base64Body.TryDecode(Encoding.ASCII.GetBytes(encoded), destination, out int written));
        if (ok)
            Assert.Equal(decoded, Encoding.ASCII.GetString(destination, 0, written));
    }

    [Fact]
    public void The_tokenizer_reports_exact_attribute_offsets()
    {
        byte[] html = "<p>x</p><A  Href = 'u' data-x=v\tnowrap>"u8.ToArray();
        var attributes = new List<HtmlAttribute>();
        var tokenizer = new HtmlTokenizer(html, attributes);
        Assert.True(tokenizer.Next(out HtmlTag p));
        Assert.False(p.IsEndTag);
        Assert.True(tokenizer.Next(out HtmlTag endP));
        Assert.True(endP.IsEndTag);
        Assert.True(tokenizer.Next(out HtmlTag a));
        Assert.True(a.NameIs(html, "a"u8));
        Assert.Equal(html.Length, a.End);
        Assert.Equal(3, attributes.Count);
        Assert.Equal("  Href = 'u'", Encoding.ASCII.GetString(html[attributes[0].LeadStart..attributes[0].End]));
        Assert.Equal("u", Encoding.ASCII.GetString(attributes[0].Value(html)));
        Assert.Equal((byte)'\'', attributes[0].Quote);
        Assert.Equal("v", Encoding.ASCII.GetString(attributes[1].Value(html)));
        Assert.False(attributes[2].HasValue);
        Assert.False(tokenizer.Next(out _));
    }

    [Theory]
    [InlineData("&amp;&lt;&gt;&quot;&#65;&#x42;&eacute;", "&<>\"AB\u00e9")]
    [InlineData("&amp=1&ampx&amp", "&amp=1&ampx&")]
    [InlineData("&#0;&#xD800;&#99999999999;&nosuch;", "\uFFFD\uFFFD\uFFFD&nosuch;")]
    public void Attribute_entities_decode_as_a_browser_does(string value, string decoded) =>
        Assert.Equal(decoded, HtmlEntities.DecodeAttribute(value));

    [Theory]
    [InlineData(null, null)]
    [InlineData("short", "short")]
    public void Link_names_up_to_63_bytes_are_kept(string? name, string? expected) => Assert.Equal(expected, LinkPolicy.TruncateName(name));

    [Fact]
    public void Long_link_names_are_cut_on_a_character_boundary()
    {
        Assert.Equal(new string('a', 63), LinkPolicy.TruncateName(new string('a', 100)));
        Assert.Equal(new string('\u20ac', 21), LinkPolicy.TruncateName(new string('\u20ac', 30)));
        Assert.Equal("a" + string.Concat(Enumerable.Repeat("\ud83d\ude00", 15)), LinkPolicy.TruncateName("a" + string.Concat(Enumerable.Repeat("\ud83d\ude00", 20))));
    }
}
