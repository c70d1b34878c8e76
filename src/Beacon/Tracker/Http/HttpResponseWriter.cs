using System.Globalization;

namespace Beacon.Tracker.Http;

/// <summary>How the response ends the exchange: the Connection header it needs.</summary>
internal enum ConnectionHeader
{
    /// <summary>HTTP/1.1 keep-alive, the default: no header.</summary>
    None,

    /// <summary>An HTTP/1.0 client asked to keep the connection and it is kept: it must be told.</summary>
    KeepAlive,

    /// <summary>The server closes the connection after this response.</summary>
    Close,
}

/// <summary>
/// Formats a response head (and body) straight into the send buffer: constant lines pre-encoded, no header
/// collection, no strings. No Server header (docs/tracking-links.md); Content-Length always, also for HEAD, whose
/// body is left out.
/// </summary>
internal static class HttpResponseWriter
{
    /// <summary>Everything but the variable values fits in this.</summary>
    private const int FixedSize = 384;

    /// <summary>The most <see cref="Write"/> can write for this response.</summary>
    public static int MaxLength(in TrackerResponse response) =>
        FixedSize + (response.ContentType?.Length ?? 0) + (response.Location?.Length ?? 0) + (response.Allow?.Length ?? 0) + response.Body.Length;

    /// <summary>Writes the response into <paramref name="into"/>, which holds at least <see cref="MaxLength"/> bytes; returns the length.</summary>
    public static int Write(Span<byte> into, in TrackerResponse response, bool head, ConnectionHeader connection, ReadOnlySpan<byte> date)
    {
        var at = Append(into, 0, StatusLine(response.Status));
        at = Append(into, at, "Date: "u8);
        at = Append(into, at, date);
        at = Append(into, at, "\r\n"u8);
        if (response.ContentType is not null)
        {
            at = Append(into, at, "Content-Type: "u8);
            at = AppendAscii(into, at, response.ContentType);
        }

        at = Append(into, at, "Content-Length: "u8);
        response.Body.Length.TryFormat(into[at..], out var digits, provider: CultureInfo.InvariantCulture);
        at = Append(into, at + digits, "\r\n"u8);
        if (response.Location is not null)
        {
            at = Append(into, at, "Location: "u8);
            at = AppendAscii(into, at, response.Location);
        }

        if (response.NoCache)
        {
            at = Append(into, at, "Cache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\nExpires: 0\r\nX-Robots-Tag: noindex\r\n"u8);
        }

        if (response.Allow is not null)
        {
            at = Append(into, at, "Allow: "u8);
            at = AppendAscii(into, at, response.Allow);
        }

        at = Append(into, at, connection switch
        {
            ConnectionHeader.Close => "Connection: close\r\n\r\n"u8,
            ConnectionHeader.KeepAlive => "Connection: keep-alive\r\n\r\n"u8,
            _ => "\r\n"u8,
        });
        return head ? at : Append(into, at, response.Body);
    }

    /// <summary>The status line; the tracker's statuses and the HTTP layer's rejections only.</summary>
    private static ReadOnlySpan<byte> StatusLine(int status) => status switch
    {
        200 => "HTTP/1.1 200 OK\r\n"u8,
        302 => "HTTP/1.1 302 Found\r\n"u8,
        400 => "HTTP/1.1 400 Bad Request\r\n"u8,
        404 => "HTTP/1.1 404 Not Found\r\n"u8,
        405 => "HTTP/1.1 405 Method Not Allowed\r\n"u8,
        408 => "HTTP/1.1 408 Request Timeout\r\n"u8,
        414 => "HTTP/1.1 414 URI Too Long\r\n"u8,
        431 => "HTTP/1.1 431 Request Header Fields Too Large\r\n"u8,
        505 => "HTTP/1.1 505 HTTP Version Not Supported\r\n"u8,
        _ => "HTTP/1.1 500 Internal Server Error\r\n"u8,
    };

    private static int Append(Span<byte> into, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(into[at..]);
        return at + bytes.Length;
    }

    /// <summary>
    /// A header value and its CRLF. Values are ASCII already (RedirectTarget escapes the rest); a control character
    /// would split the header, so it is refused here as a last line of defence, not written.
    /// </summary>
    private static int AppendAscii(Span<byte> into, int at, string value)
    {
        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                throw new InvalidOperationException($"a response header value holds U+{(int)c:X4}");
            }

            into[at++] = (byte)c;
        }

        return Append(into, at, "\r\n"u8);
    }
}
