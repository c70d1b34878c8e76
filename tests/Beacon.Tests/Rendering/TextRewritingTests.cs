using System.Text;
using Beacon.Rendering;

namespace Beacon.Tests.Rendering;

public sealed class TextRewritingTests
{
    private static (string Body, List<ClickTarget> Targets) Render(string text)
    {
        var targets = new List<ClickTarget>();
        byte[] input = Mail.SinglePart("text/plain", text, "8bit", "utf-8");
        (byte[] output, RenderReport report) = RenderHarness.Render(input, RenderHarness.Options(seen: targets));
        RenderHarness.AssertFaithful(input, output, report);
        Assert.False(report.OpenPixelInserted);
        return (RenderHarness.DecodedBody(output), targets);
    }

    [Theory]
    [InlineData("See https://shop.example/sale.", "https://shop.example/sale")]
    [InlineData("(details: https://x.example/a?b=c), then", "https://x.example/a?b=c")]
    [InlineData("https://en.wikipedia.org/wiki/Foo_(bar) is balanced", "https://en.wikipedia.org/wiki/Foo_(bar)")]
    [InlineData("<https://x.example/y>", "https://x.example/y")]
    [InlineData("\"http://x.example/q\"!", "http://x.example/q")]
    [InlineData("HTTP://EXAMPLE.COM/Path;", "HTTP://EXAMPLE.COM/Path")]
    [InlineData("go https://x.example/a?!,:;'", "https://x.example/a")]
    [InlineData("[https://x.example/b]", "https://x.example/b")]
    [InlineData("ja:https://x.example/c\u3002", "https://x.example/c")]
    public void Urls_end_conservatively(string text, string target)
    {
        (string body, List<ClickTarget> targets) = Render(text);
        Assert.Equal(target, Assert.Single(targets).Url);
        Assert.Equal(text.Replace(target, "#", StringComparison.Ordinal), RenderHarness.Untrack(body, false).Replace(target, "#", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ftp://files.example/x mailto:a@b.example tel:+1 www.example.com")]
    [InlineData("xhttps://x.example/ and https:// and http:///")]
    [InlineData("https://track.example/f/already and https://TRACK.EXAMPLE/q/x")]
    public void Other_text_is_not_a_link(string text)
    {
        (string body, List<ClickTarget> targets) = Render(text);
        Assert.Empty(targets);
        Assert.Equal(text, body);
    }

    [Fact]
    public void Annotations_are_honoured_and_removed()
    {
        const string text = "Terms: https://example.com/legal[[data-msys-clicktrack=\"0\"]]\r\n"
            + "Unsubscribe: https://example.com/unsub?u=7[[data-msys-unsubscribe=\"1\" data-msys-linkname=\"unsub\"]].\r\n"
            + "App: https://example.com/app[[data-msys-sublink=\"open-in-app\"]]\r\n"
            + "Not an annotation: https://example.com/x[[other]]\r\n";
        (string body, List<ClickTarget> targets) = Render(text);
        Assert.Equal(["https://example.com/unsub?u=7", "https://example.com/app", "https://example.com/x"], targets.Select(t => t.Url));
        Assert.True(targets[0].Unsubscribe);
        Assert.Equal("unsub", targets[0].LinkName);
        Assert.Equal("open-in-app", targets[1].Sublink);
        Assert.StartsWith("Terms: https://example.com/legal\r\nUnsubscribe: https://track.example/f/", body, StringComparison.Ordinal);
        Assert.Contains("[[other]]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("data-msys", body, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_and_html_parts_of_an_alternative_are_both_rewritten_and_the_attachment_is_not()
    {
        string input = Mail.Alternative("Shop https://shop.example/ now", "<html><body><a href=\"https://shop.example/\">Shop</a></body></html>");
        var targets = new List<ClickTarget>();
        byte[] bytes = Encoding.ASCII.GetBytes(input);
        (byte[] output, RenderReport report) = RenderHarness.Render(bytes, RenderHarness.Options(seen: targets));
        RenderHarness.AssertFaithful(bytes, output, report);
        Assert.Equal(2, report.LinksRewritten);
        Assert.True(report.HtmlPartRewritten && report.TextPartRewritten && report.OpenPixelInserted);
        string copy = Encoding.ASCII.GetString(output);
        Assert.Contains("PGEgaHJlZj0iaHR0cDovL2F0dGFjaGVkLmV4YW1wbGUvIj4=\r\n--mix--\r\nepilogue\r\n", copy, StringComparison.Ordinal);
        Assert.StartsWith("From: News", copy, StringComparison.Ordinal);
        Assert.DoesNotContain("X-MSYS-API", copy, StringComparison.Ordinal);
    }
}
