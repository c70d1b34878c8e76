using System.Text;
using MimeKit;

namespace Beacon.Tests.Rendering;

/// <summary>
/// Realistic marketing HTML: a table layout, an Outlook conditional VML button, a style sheet with URLs, entities in
/// hrefs, a named unsubscribe link, images, and a text/plain alternative; encoded by MimeKit, not by the code under test.
/// </summary>
internal static class Newsletter
{
    public static (string Html, List<string> Targets) Html(int links, int padBytes = 0, string greeting = "Hello")
    {
        var targets = new List<string>();
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n")
            .Append("<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:v=\"urn:schemas-microsoft-com:vml\">\n<head>\n")
            .Append("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" />\n<title>Weekly &amp; more</title>\n")
            .Append("<style type=\"text/css\">\n  body { margin:0; background:url('https://cdn.example/bg.png') }\n  .btn a { color:#fff !important; }\n</style>\n")
            .Append("<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/></o:OfficeDocumentSettings></xml><![endif]-->\n")
            .Append("</head>\n<body style=\"margin:0;padding:0\" bgcolor=\"#f4f4f4\">\n")
            .Append("<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">\n");
        html.Append("<tr><td align=\"center\"><p>").Append(greeting).Append(" &nbsp;reader,</p>\n");
        html.Append("<!--[if mso]><v:roundrect xmlns:v=\"urn:schemas-microsoft-com:vml\" href=\"https://shop.example/vml\" style=\"height:40px\">")
            .Append("<w:anchorlock/><center><a href=\"https://shop.example/mso-button?utm_source=email&amp;utm_medium=vml\">Shop</a></center></v:roundrect><![endif]-->\n");
        targets.Add("https://shop.example/mso-button?utm_source=email&utm_medium=vml");
        for (int i = 0; i < links; i++)
        {
            string target = $"https://shop.example/products/{i}?utm_source=newsletter&utm_campaign=weekly&id={i * 7919 % 100000}";
            targets.Add(target);
            html.Append("<tr>\n  <td class=\"item\" style=\"padding:10px 20px; font-family:Arial, sans-serif\">\n")
                .Append($"    <a href=\"{target.Replace("&", "&amp;", StringComparison.Ordinal)}\" target=\"_blank\" data-msys-linkname=\"product-{i}\">")
                .Append($"<img src=\"https://cdn.example/p/{i}.jpg\" width=\"120\" alt=\"Product {i}\" style=\"display:block\"></a>\n")
                .Append($"    <p>Product {i} &mdash; now only &euro;{i % 90 + 9},99. Café crème. <a href='https://shop.example/p/{i}/reviews'>Reviews</a></p>\n  </td>\n</tr>\n");
            targets.Add($"https://shop.example/p/{i}/reviews");
        }

        if (padBytes > 0)
        {
            html.Append("<tr><td>");
            while (html.Length < padBytes)
                html.Append("<p style=\"color:#666\">Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor &amp; more.</p>\n");
            html.Append("</td></tr>\n");
        }

        html.Append("<tr><td><a href=\"mailto:help@shop.example\">Help</a> | <a href=\"https://shop.example/unsub?u=1&amp;l=2\" data-msys-unsubscribe=\"1\">Unsubscribe</a>")
            .Append(" | <a href=\"https://shop.example/legal\" data-msys-clicktrack=\"0\">Legal</a></td></tr>\n</table>\n</body>\n</html>\n");
        targets.Add("https://shop.example/unsub?u=1&l=2");
        return (html.ToString(), targets);
    }

    public static byte[] Message(string html, ContentEncoding encoding, string charset = "utf-8", string? text = null)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Shop", "news@shop.example"));
        message.To.Add(new MailboxAddress("Reader", "reader@example.net"));
        message.Subject = "Weekly deals";
        message.Headers.Add("X-MSYS-API", "{\"campaign_id\":\"weekly\",\"options\":{\"open_tracking\":true}}");
        var htmlPart = new TextPart("html") { ContentTransferEncoding = encoding };
        htmlPart.SetText(CodePage(charset), html);
        if (text is null)
        {
            message.Body = htmlPart;
        }
        else
        {
            var textPart = new TextPart("plain") { ContentTransferEncoding = encoding };
            textPart.SetText(CodePage(charset), text);
            message.Body = new MultipartAlternative { textPart, htmlPart };
        }

        using var stream = new MemoryStream();
        message.WriteTo(FormatOptions.Default.Clone() is var options && SetDos(options) ? options : FormatOptions.Default, stream);
        return stream.ToArray();
    }

    /// <summary>From .NET directly: MimeKit's charset table may have been built before the code pages were registered.</summary>
    public static Encoding CodePage(string charset)
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return Encoding.GetEncoding(charset);
    }

    private static bool SetDos(FormatOptions options)
    {
        options.NewLineFormat = NewLineFormat.Dos;
        return true;
    }
}
