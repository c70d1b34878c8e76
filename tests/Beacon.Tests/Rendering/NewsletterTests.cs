using Beacon.Rendering;
using MimeKit;

namespace Beacon.Tests.Rendering;

public sealed class NewsletterTests
{
    private static List<ClickTarget> RenderAndCheck(byte[] input, out byte[] output, out RenderReport report)
    {
        var seen = new List<ClickTarget>();
        (output, report) = RenderHarness.Render(input, RenderHarness.Options(seen: seen));
        RenderHarness.AssertFaithful(input, output, report);
        Assert.Equal(RenderSkipReason.None, report.SkipReason);
        return seen;
    }

    [Theory]
    [InlineData(ContentEncoding.QuotedPrintable)]
    [InlineData(ContentEncoding.Base64)]
    [InlineData(ContentEncoding.EightBit)]
    public void A_table_newsletter_keeps_its_encoding_and_every_link_decodes_to_its_target(ContentEncoding encoding)
    {
        (string html, List<string> targets) = Newsletter.Html(40);
        byte[] input = Newsletter.Message(html, encoding, text: "Shop now: https://shop.example/text-link.\n");
        List<ClickTarget> seen = RenderAndCheck(input, out byte[] output, out RenderReport report);
        Assert.Equal([.. targets, "https://shop.example/text-link"], seen.Select(s => s.Url));
        Assert.Equal("product-3", seen[7].LinkName);
        Assert.True(seen[^2].Unsubscribe);
        Assert.Equal(targets.Count + 1, report.LinksRewritten);

        var copy = MimeMessage.Load(new MemoryStream(output));
        TextPart htmlPart = copy.BodyParts.OfType<TextPart>().Single(p => p.IsHtml);
        Assert.Equal(encoding, htmlPart.ContentTransferEncoding);
        Assert.Equal(targets, RenderHarness.TrackedTargets(RenderHarness.Decode(htmlPart)));
        if (encoding != ContentEncoding.EightBit)
            Assert.InRange(RenderHarness.LongestLine(output), 0, Math.Max(76, RenderHarness.LongestLine(input)));
    }

    [Fact]
    public void Quoted_printable_soft_breaks_inside_href_values_are_decoded_before_sealing()
    {
        const string body = "<a href=3D\"https://shop.example/a-very-long-path/that-is-broken-by-a-soft-l=\r\nine-break?x=3D1&amp;y=\r\n=3D2\">x</a>\r\n";
        byte[] input = Mail.SinglePart("text/html", body, "quoted-printable");
        List<ClickTarget> seen = RenderAndCheck(input, out _, out _);
        Assert.Equal("https://shop.example/a-very-long-path/that-is-broken-by-a-soft-line-break?x=1&y=2", Assert.Single(seen).Url);
    }

    [Theory]
    [InlineData("iso-8859-1", "Café crème à la carte")]
    [InlineData("windows-1252", "Price \u20ac9 \u201cquoted\u201d \u2013 dash")]
    [InlineData("shift_jis", "\u3053\u3093\u306b\u3061\u306f\u3001\u30bb\u30fc\u30eb\u4e2d\u30fc\u8868\u30bd")]
    [InlineData("iso-2022-jp", "\u3053\u3093\u306b\u3061\u306f\u3001\u30bb\u30fc\u30eb\u4e2d")]
    [InlineData("euc-kr", "\uc548\ub155\ud558\uc138\uc694")]
    public void National_charsets_keep_their_bytes(string charset, string greeting)
    {
        (string html, List<string> targets) = Newsletter.Html(5, greeting: greeting);
        html = html.Replace("Café crème.", greeting + "<a href=\"https://shop.example/jp\">" + greeting + "</a>" + greeting, StringComparison.Ordinal);
        foreach (ContentEncoding encoding in new[] { ContentEncoding.QuotedPrintable, ContentEncoding.Base64 })
        {
            byte[] input = Newsletter.Message(html, encoding, charset, text: greeting + " https://shop.example/t " + greeting);
            List<ClickTarget> seen = RenderAndCheck(input, out byte[] output, out _);
            Assert.Contains("https://shop.example/jp", seen.Select(s => s.Url));
            Assert.Contains("https://shop.example/t", seen.Select(s => s.Url));
            TextPart part = MimeMessage.Load(new MemoryStream(output)).BodyParts.OfType<TextPart>().Single(p => p.IsHtml);
            Assert.Equal(charset, part.ContentType.Charset, ignoreCase: true);
            string text = Newsletter.CodePage(charset).GetString(System.Text.Encoding.Latin1.GetBytes(RenderHarness.Decode(part)));
            Assert.Contains(greeting + "<a href=\"https://track.example/f/", text, StringComparison.Ordinal);
            Assert.Equal(targets.Count + 6, seen.Count);
        }
    }

    [Fact]
    public void Five_thousand_links_are_all_tracked_in_order()
    {
        (string html, List<string> targets) = Newsletter.Html(2500);
        byte[] input = Newsletter.Message(html, ContentEncoding.QuotedPrintable);
        List<ClickTarget> seen = RenderAndCheck(input, out _, out RenderReport report);
        Assert.Equal(targets, seen.Select(s => s.Url));
        Assert.Equal(5002, report.LinksRewritten);
    }

    [Fact]
    public void A_twenty_megabyte_html_part_renders()
    {
        (string html, List<string> targets) = Newsletter.Html(100, padBytes: 20 * 1024 * 1024);
        byte[] input = Newsletter.Message(html, ContentEncoding.QuotedPrintable);
        Assert.True(input.Length > 20 * 1024 * 1024);
        List<ClickTarget> seen = RenderAndCheck(input, out byte[] output, out RenderReport report);
        Assert.Equal(targets, seen.Select(s => s.Url));
        Assert.True(report.OpenPixelInserted);
        Assert.InRange(output.Length, input.Length, input.Length + 100_000);
    }
}
