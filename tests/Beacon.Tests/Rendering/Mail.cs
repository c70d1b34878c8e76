using System.Text;

namespace Beacon.Tests.Rendering;

/// <summary>Builds raw test messages byte for byte, so each test controls encoding, charset and line breaks.</summary>
internal static class Mail
{
    public const string Headers = "From: News <news@shop.example>\r\nTo: r@example.net\r\nSubject: Weekly\r\n"
        + "X-MSYS-API: {\"campaign_id\":\"weekly\",\r\n  \"metadata\":{\"a\":1}}\r\nMIME-Version: 1.0\r\n";

    /// <summary>A single-part text/html message whose body is given already encoded.</summary>
    public static byte[] SinglePart(string type, string encodedBody, string? transferEncoding = null, string charset = "utf-8",
        Encoding? bodyEncoding = null)
    {
        string head = Headers + $"Content-Type: {type}; charset={charset}\r\n"
            + (transferEncoding is null ? string.Empty : $"Content-Transfer-Encoding: {transferEncoding}\r\n") + "\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. (bodyEncoding ?? Encoding.UTF8).GetBytes(encodedBody)];
    }

    /// <summary>multipart/alternative with text/plain and text/html, both 7bit, plus an attachment.</summary>
    public static string Alternative(string text, string html, string attachment = "PGEgaHJlZj0iaHR0cDovL2F0dGFjaGVkLmV4YW1wbGUvIj4=") =>
        Headers + "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n"
        + "preamble\r\n--mix\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
        + "--alt\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + text + "\r\n"
        + "--alt\r\nContent-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + html + "\r\n"
        + "--alt--\r\n\r\n--mix\r\nContent-Type: text/html; name=\"page.html\"\r\nContent-Disposition: attachment; filename=\"page.html\"\r\n"
        + "Content-Transfer-Encoding: base64\r\n\r\n" + attachment + "\r\n--mix--\r\nepilogue\r\n";

    public static byte[] Html(string html) => SinglePart("text/html", html, "7bit");

    public static string Body(byte[] message) => Encoding.Latin1.GetString(message)[(Encoding.Latin1.GetString(message).IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
}
