using System.Text;
using Beacon.Rendering;

namespace Beacon.Tests.Rendering;

public sealed class HtmlRewritingTests
{
    private static (string Body, RenderReport Report, List<ClickTarget> Targets) Render(string html, bool initialOpen = false, bool open = true, bool checkFaithful = true)
    {
        var targets = new List<ClickTarget>();
        byte[] input = Mail.Html(html);
        (byte[] output, RenderReport report) = RenderHarness.Render(input, RenderHarness.Options(open: open, initialOpen: initialOpen, seen: targets));
        if (checkFaithful)
            RenderHarness.AssertFaithful(input, output, report);
        return (Mail.Body(output), report, targets);
    }

    [Fact]
    public void Http_and_https_hrefs_of_a_and_area_are_tracked_and_nothing_else()
    {
        const string html = "<a href=\"https://shop.example/sale\">Sale</a> <AREA shape=rect HREF=' HTTP://Maps.example/x '>"
            + "<a href=\"mailto:x@y.example\">m</a><a href=\"tel:+1\">t</a><a href=\"/relative\">r</a><a href=\"#top\">#</a>"
            + "<a href=\"https://track.example/f/abc\">already</a><a href=\"https://TRACK.example:443/q\">port</a>"
            + "<link href=\"https://cdn.example/x.css\"><img src=\"https://img.example/a.png\"><base href=\"https://base.example/\">";
        (string body, RenderReport report, List<ClickTarget> targets) = Render(html, open: false, checkFaithful: false);
        Assert.Equal(["https://shop.example/sale", "HTTP://Maps.example/x"], targets.Select(t => t.Url));
        Assert.Equal(2, report.LinksRewritten);
        Assert.StartsWith("<a href=\"https://track.example/f/", body, StringComparison.Ordinal);
        Assert.Contains(" <AREA shape=rect HREF='https://track.example/f/", body, StringComparison.Ordinal);
        foreach (string kept in new[] { "mailto:x@y.example", "tel:+1", "\"/relative\"", "\"#top\"", "https://track.example/f/abc", "https://cdn.example/x.css", "https://img.example/a.png", "https://base.example/" })
            Assert.Contains(kept, body, StringComparison.Ordinal);
    }

    [Fact]
    public void Entities_are_decoded_before_the_target_is_sealed()
    {
        (_, _, List<ClickTarget> targets) = Render("<a href=\"https://x.example/?a=1&amp;b=2&#38;c=3&#x26;d=&quot;4&quot;&ampx=5\">x</a>", checkFaithful: false);
        Assert.Equal("https://x.example/?a=1&b=2&c=3&d=\"4\"&ampx=5", Assert.Single(targets).Url);
    }

    [Fact]
    public void Unquoted_href_gets_quotes_only_when_the_tracked_url_needs_them()
    {
        (string body, _, _) = Render("<a href=https://x.example/a class=b>x</a>", open: false);
        Assert.Matches("^<a href=https://track.example/f/[A-Za-z0-9_-]+ class=b>x</a>$", body);
    }

    [Fact]
    public void Msys_attributes_are_honoured_and_removed_everywhere()
    {
        string longName = new string('é', 40);
        string html = $"<a data-msys-linkname=\"{longName}\" href=\"https://a.example/\" data-msys-unsubscribe=\"1\" data-msys-sublink=\"open-in-app\">a</a>"
            + "<a href=\"https://b.example/\"\n   data-msys-clicktrack=\"0\">b</a><td DATA-MSYS-other='x' width=1>";
        (string body, RenderReport report, List<ClickTarget> targets) = Render(html, open: false);
        ClickTarget target = Assert.Single(targets);
        Assert.Equal("https://a.example/", target.Url);
        Assert.Equal(new string('é', 31), target.LinkName);
        Assert.True(target.Unsubscribe);
        Assert.Equal("open-in-app", target.Sublink);
        Assert.Equal(1, report.LinksRewritten);
        Assert.DoesNotContain("msys", body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<a href=\"https://b.example/\">b</a><td width=1>", body, StringComparison.Ordinal);
        Assert.StartsWith("<a href=\"https://track.example/f/open-in-app/", body, StringComparison.Ordinal);
    }

    [Fact]
    public void The_pixel_goes_before_the_last_closing_body_tag_and_the_initial_pixel_after_the_opening_one()
    {
        const string html = "<html><BODY class=x>hi<p>x</body><!-- </body> --></BODY ></html>";
        (string body, RenderReport report, _) = Render(html, initialOpen: true);
        Assert.Equal($"<html><BODY class=x>{RenderHarness.InitialPixel}hi<p>x</body><!-- </body> -->{RenderHarness.OpenPixel}</BODY ></html>", body);
        Assert.True(report.OpenPixelInserted);
        Assert.True(report.InitialOpenPixelInserted);
    }

    [Fact]
    public void Without_a_body_the_pixel_is_appended()
    {
        (string body, RenderReport report, _) = Render("<p>no body</p>", initialOpen: true);
        Assert.Equal("<p>no body</p>" + RenderHarness.OpenPixel, body);
        Assert.False(report.InitialOpenPixelInserted);
    }

    [Fact]
    public void Links_inside_outlook_conditional_comments_are_tracked_but_not_in_comments_styles_or_scripts()
    {
        const string html = "<!--[if mso]><v:roundrect href=\"https://vml.example/\"><a href=\"https://mso.example/\">b</a></v:roundrect><![endif]-->"
            + "<!--[if !mso]><!--><a href=\"https://notmso.example/\">n</a><!--<![endif]-->"
            + "<!-- <a href=\"https://comment.example/\"> -->"
            + "<style>a[href=\"https://style.example/\"] { background: url(https://bg.example/x.png) } </style>"
            + "<script>var s = '<a href=\"https://script.example/\">';</script>"
            + "<title><a href=\"https://title.example/\"></title><textarea><a href=\"https://ta.example/\"></TEXTAREA>"
            + "<a href=\"https://after.example/\">after</a>";
        (string body, _, List<ClickTarget> targets) = Render(html, open: false);
        Assert.Equal(["https://mso.example/", "https://notmso.example/", "https://after.example/"], targets.Select(t => t.Url));
        Assert.Contains("<!--[if mso]><v:roundrect href=\"https://vml.example/\"><a href=\"https://track.example/f/", body, StringComparison.Ordinal);
        Assert.Contains("</style><script>var s = '<a href=\"https://script.example/\">';</script>", body, StringComparison.Ordinal);
    }

    [Fact]
    public void Brace_macros_are_translated_and_other_braces_pass_through()
    {
        const string html = "<p>{{opening_double_curly()}}name{{ closing_double_curly() }} {{name}} {{{x}}} {{opening_single_curly()}}"
            + "{{closing_triple_curly ( )}}</p><a href=\"https://x.example/{{opening_single_curly()}}id{{closing_single_curly()}}\">x</a>";
        byte[] input = Mail.Html(html);
        var targets = new List<ClickTarget>();
        (byte[] output, _) = RenderHarness.Render(input, RenderHarness.Options(open: false, seen: targets));
        Assert.StartsWith("<p>{{name}} {{name}} {{{x}}} {}}}</p><a href=\"https://track.example/f/", Mail.Body(output), StringComparison.Ordinal);
        Assert.Equal("https://x.example/{id}", Assert.Single(targets).Url);
    }

    [Fact]
    public void Markup_spacing_and_attribute_order_survive_byte_for_byte()
    {
        const string html = "<!DOCTYPE html>\r\n<html lang=en>\r\n<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
            + "<style>\r\n  td { color: #333 }\r\n</style></head>\r\n<body>\r\n<table  cellpadding=\"0\"   cellspacing='0'>\r\n"
            + "<tr><td\talign=\"center\"  ><a   target=_blank   href  =  \"https://x.example/p?q=1\"   style=\"color:red\" >x</a>&nbsp;&copy;</td></tr>\r\n"
            + "</table>\r\n</body>\r\n</html>\r\n";
        (string body, _, _) = Render(html, open: false);
        Assert.Equal(html, RenderHarness.Untrack(body, htmlEscape: true));
    }

    [Fact]
    public void The_x_msys_api_header_is_removed_and_nothing_else_in_the_header_block()
    {
        byte[] input = Encoding.ASCII.GetBytes("X-MSYS-API: {\"a\":\r\n\t1}\r\nFrom: a@b.example\r\nx-msys-api: second\r\nSubject: s\r\n"
            + "X-MSYS-API-Other: kept\r\nContent-Type: text/plain\r\n\r\nbody X-MSYS-API: not a header\r\n");
        (byte[] output, RenderReport report) = RenderHarness.Render(input, RenderHarness.Options(open: false, click: false));
        Assert.Equal("From: a@b.example\r\nSubject: s\r\nX-MSYS-API-Other: kept\r\nContent-Type: text/plain\r\n\r\nbody X-MSYS-API: not a header\r\n",
            Encoding.ASCII.GetString(output));
        Assert.Equal(2, report.HeadersRemoved);
    }

    [Fact]
    public void The_list_of_removed_headers_is_configurable()
    {
        byte[] input = Encoding.ASCII.GetBytes("X-Secret: 1\r\nX-MSYS-API: {}\r\nContent-Type: text/plain\r\n\r\nx\r\n");
        RenderOptions options = RenderHarness.Options(open: false, click: false);
        options = new RenderOptions { RemoveHeaders = ["x-secret"], ClickUrl = options.ClickUrl, OpenUrl = options.OpenUrl };
        (byte[] output, _) = RenderHarness.Render(input, options);
        Assert.Equal("X-MSYS-API: {}\r\nContent-Type: text/plain\r\n\r\nx\r\n", Encoding.ASCII.GetString(output));
    }
}
