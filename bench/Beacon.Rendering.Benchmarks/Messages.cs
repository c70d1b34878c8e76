using System.Text;
using MimeKit;

namespace Beacon.Rendering.Benchmarks;

/// <summary>A table-layout newsletter (text/plain + quoted-printable text/html), padded to a size.</summary>
internal static class Messages
{
    public static byte[] Build(int links, int size)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>td{font-family:Arial} .b a{color:#fff}</style></head>\n")
            .Append("<body style=\"margin:0\"><table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\">\n")
            .Append("<!--[if mso]><table><tr><td><a href=\"https://shop.example/mso\">Shop</a></td></tr></table><![endif]-->\n");
        var text = new StringBuilder("Weekly deals\n\n");
        // About 440 bytes of markup per link, and quoted-printable adds a few percent: pad the rest with prose.
        int perLink = Math.Max(0, (size / Math.Max(links, 1)) - 330);
        for (int i = 0; i < links; i++)
        {
            html.Append($"<tr><td class=\"item\" style=\"padding:10px\"><a href=\"https://shop.example/p/{i}?utm_source=news&amp;utm_campaign=wk\" data-msys-linkname=\"p{i}\">")
                .Append($"<img src=\"https://cdn.example/{i}.jpg\" width=\"120\" alt=\"Produit {i} — crème\"></a>\n<p>");
            for (int n = 0; n < perLink; n += 90)
                html.Append("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. ");
            html.Append("</p></td></tr>\n");
            if (i % 8 == 0)
                text.Append($"Product {i}: https://shop.example/p/{i}?utm_source=news.\n");
        }

        html.Append("</table></body></html>\n");
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Shop", "news@shop.example"));
        message.To.Add(new MailboxAddress("Reader", "reader@example.net"));
        message.Subject = "Weekly deals";
        message.Headers.Add("X-MSYS-API", "{\"campaign_id\":\"weekly\"}");
        var textPart = new TextPart("plain") { Text = text.ToString(), ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        var htmlPart = new TextPart("html") { Text = html.ToString(), ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        message.Body = new MultipartAlternative { textPart, htmlPart };
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var stream = new MemoryStream();
        message.WriteTo(options, stream);
        return stream.ToArray();
    }
}
