using System.Buffers;
using System.Globalization;
using System.Text;

namespace Beacon.Tracker.Http;

/// <summary>The three answers of <see cref="HttpRequestParser.TryParse"/>.</summary>
internal enum ParseStatus
{
    /// <summary>The head is not complete yet, and no limit is exceeded: receive more.</summary>
    Incomplete,

    Complete,

    Rejected,
}

/// <summary>
/// The request head of RFC 9112 §2–§6, parsed straight from the received bytes. Limits are enforced while the head
/// is still arriving (ARCHITECTURE.md §5.2): a request line over max_request_line_size is refused as soon as that
/// many bytes came without a line feed, headers likewise. A valid request allocates only the strings the tracker
/// reads: the target and the values of <see cref="TrackerRequest"/>'s headers; every other field is checked and skipped.
/// Deviations (docs/RFCs.md): leading empty lines are skipped (§2.2 allows it), a bare LF ends a line (§2.2
/// allows it), and a request line with bytes outside US-ASCII is refused rather than guessed at.
/// </summary>
internal sealed class HttpRequestParser(int maxRequestLineSize, int maxHeadersTotalSize, int maxHeaderCount)
{
    /// <summary><c>tchar</c> (RFC 9110 §5.6.2).</summary>
    private static readonly SearchValues<byte> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>Control bytes a field value must not hold: all but HTAB (RFC 9110 §5.5), bare CR and NUL included.</summary>
    private static readonly SearchValues<byte> FieldControls = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127]);

    /// <summary>The buffer that can hold any head within the limits: a full buffer without a complete head is a limit exceeded.</summary>
    public int MaxHeadSize => maxRequestLineSize + maxHeadersTotalSize + 4;

    /// <summary>Leading CRLF or LF before a request line (RFC 9112 §2.2: "SHOULD ignore at least one empty line").</summary>
    public static int SkipEmptyLines(ReadOnlySpan<byte> data)
    {
        var skipped = 0;
        while (skipped < data.Length)
        {
            if (data[skipped] == '\n')
            {
                skipped++;
            }
            else if (data[skipped] == '\r' && skipped + 1 < data.Length && data[skipped + 1] == '\n')
            {
                skipped += 2;
            }
            else
            {
                break;
            }
        }

        return skipped;
    }

    /// <summary>
    /// Looks for the end of the head in <paramref name="data"/> (the request's bytes from its first one) past what
    /// <paramref name="scan"/> has seen, then parses it whole. <paramref name="consumed"/> is the head's length:
    /// bodies are never read, the connection closes after a request that has one.
    /// </summary>
    public ParseStatus TryParse(ReadOnlySpan<byte> data, ref HeadScan scan, ref TrackerRequest request, out HttpFraming framing, out int consumed, out RequestRejection rejection)
    {
        framing = default;
        consumed = 0;
        var found = FindHeadEnd(data, ref scan, out var headEnd, out rejection);
        if (found != ParseStatus.Complete)
        {
            return found == ParseStatus.Rejected || Exceeded(data.Length, scan, out rejection) ? ParseStatus.Rejected : ParseStatus.Incomplete;
        }

        if (!TryParseRequestLine(data[..scan.LineEnd], ref request, out var http10, out rejection)
            || !TryParseFields(data[scan.LineEnd..headEnd], ref request, http10, out framing, out rejection))
        {
            return ParseStatus.Rejected;
        }

        consumed = headEnd;
        return ParseStatus.Complete;
    }

    /// <summary>
    /// Walks the line feeds not yet seen: Complete with the index past the empty line that ends the head, or
    /// Rejected when a line or the field count is over its limit.
    /// </summary>
    private ParseStatus FindHeadEnd(ReadOnlySpan<byte> data, ref HeadScan scan, out int headEnd, out RequestRejection rejection)
    {
        headEnd = 0;
        rejection = default;
        while (true)
        {
            var found = data[scan.Scanned..].IndexOf((byte)'\n');
            if (found < 0)
            {
                scan.Scanned = data.Length;
                return ParseStatus.Incomplete;
            }

            var lf = scan.Scanned + found;
            scan.Scanned = lf + 1;
            if (scan.LineEnd == 0)
            {
                if (lf - (lf > 0 && data[lf - 1] == '\r' ? 1 : 0) > maxRequestLineSize)
                {
                    rejection = RequestRejection.RequestLineTooLong;
                    return ParseStatus.Rejected;
                }

                scan.LineEnd = scan.LastLineEnd = lf + 1;
                continue;
            }

            var length = lf - scan.LastLineEnd;
            if (length == 0 || (length == 1 && data[scan.LastLineEnd] == '\r'))
            {
                headEnd = lf + 1;
                if (headEnd - scan.LineEnd > maxHeadersTotalSize + 2)
                {
                    rejection = RequestRejection.HeadersTooLarge;
                    return ParseStatus.Rejected;
                }

                return ParseStatus.Complete;
            }

            scan.LastLineEnd = lf + 1;
            if (++scan.Fields > maxHeaderCount)
            {
                rejection = RequestRejection.TooManyHeaders;
                return ParseStatus.Rejected;
            }
        }
    }

    /// <summary>An incomplete head already past a limit: no byte still to come can make it acceptable.</summary>
    private bool Exceeded(int length, in HeadScan scan, out RequestRejection rejection)
    {
        rejection = scan.LineEnd == 0
            ? length > maxRequestLineSize + 1 ? RequestRejection.RequestLineTooLong : default
            : length - scan.LineEnd > maxHeadersTotalSize + 2 ? RequestRejection.HeadersTooLarge : default;
        return rejection != default;
    }

    /// <summary>
    /// <c>request-line = method SP request-target SP HTTP-version</c> (RFC 9112 §3), the line's CRLF or LF included.
    /// <c>HTTP-version = "HTTP/" DIGIT "." DIGIT</c> (§2.3): 1.0 and 1.1 are served, any other gets 505.
    /// </summary>
    private static bool TryParseRequestLine(ReadOnlySpan<byte> line, ref TrackerRequest request, out bool http10, out RequestRejection rejection)
    {
        http10 = false;
        rejection = RequestRejection.InvalidRequestLine;
        line = line[..^1];
        if (!line.IsEmpty && line[^1] == '\r')
        {
            line = line[..^1];
        }

        if (line.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) >= 0)
        {
            return false; // a bare CR, NUL, HTAB, DEL or a byte outside US-ASCII
        }

        var space = line.IndexOf((byte)' ');
        if (space <= 0 || !IsToken(line[..space]))
        {
            return false;
        }

        var method = line[..space];
        line = line[(space + 1)..];
        space = line.IndexOf((byte)' ');
        if (space <= 0)
        {
            return false;
        }

        var target = line[..space];
        var version = line[(space + 1)..];
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            http10 = false;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            http10 = true;
        }
        else
        {
            var versionLike = version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5]) && version[6] == '.' && char.IsAsciiDigit((char)version[7]);
            rejection = !versionLike ? RequestRejection.InvalidRequestLine
                : method.SequenceEqual("PRI"u8) ? RequestRejection.Http2Preface
                : RequestRejection.UnsupportedVersion;
            return false;
        }

        request.Method = method.SequenceEqual("GET"u8) ? TrackerMethod.Get : method.SequenceEqual("HEAD"u8) ? TrackerMethod.Head : TrackerMethod.Other;
        if (target[0] != '/')
        {
            if (TryStripAbsolute(ref target))
            {
                request.Target = target.IsEmpty ? "/" : target[0] == '?' ? "/" + Encoding.ASCII.GetString(target) : Encoding.ASCII.GetString(target);
                return true;
            }

            // Asterisk-form (OPTIONS *) or authority-form (CONNECT host:port): nothing the tracker serves. Other
            // methods still reach the handler, whose answer to them is 405 whatever the target.
            if (request.Method != TrackerMethod.Other)
            {
                rejection = RequestRejection.InvalidTarget;
                return false;
            }
        }

        request.Target = Encoding.ASCII.GetString(target);
        return true;
    }

    /// <summary>absolute-form (RFC 9112 §3.2.2): <c>http(s)://authority</c> removed, the path and query left.</summary>
    private static bool TryStripAbsolute(ref ReadOnlySpan<byte> target)
    {
        var schemeLength = StartsWithIgnoreCase(target, "http://"u8) ? 7 : StartsWithIgnoreCase(target, "https://"u8) ? 8 : 0;
        if (schemeLength == 0)
        {
            return false;
        }

        var rest = target[schemeLength..];
        var end = rest.IndexOfAny((byte)'/', (byte)'?');
        if (end == 0 || rest.IsEmpty)
        {
            return false; // no authority
        }

        target = end < 0 ? [] : rest[end..];
        return true;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> value, ReadOnlySpan<byte> prefix) =>
        value.Length >= prefix.Length && Ascii.EqualsIgnoreCase(value[..prefix.Length], prefix);

    /// <summary>
    /// <c>field-line = field-name ":" OWS field-value OWS</c> (RFC 9112 §5), each ended by CRLF or LF, up to the
    /// empty line. Whitespace before the colon and obs-fold are refused (§5.1, §5.2); so is any control byte
    /// but HTAB in a value (RFC 9110 §5.5).
    /// </summary>
    private static bool TryParseFields(ReadOnlySpan<byte> fields, ref TrackerRequest request, bool http10, out HttpFraming framing, out RequestRejection rejection)
    {
        framing = default;
        var hosts = 0;
        var close = false;
        var keepAlive = false;
        var hasBody = false;
        long contentLength = -1;
        while (true)
        {
            var lf = fields.IndexOf((byte)'\n');
            var line = fields[..lf];
            fields = fields[(lf + 1)..];
            if (!line.IsEmpty && line[^1] == '\r')
            {
                line = line[..^1];
            }

            if (line.IsEmpty)
            {
                break;
            }

            if (line[0] is (byte)' ' or (byte)'\t')
            {
                rejection = RequestRejection.ObsoleteLineFolding;
                return false;
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                rejection = RequestRejection.InvalidHeader;
                return false;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (value.IndexOfAny(FieldControls) >= 0)
            {
                rejection = RequestRejection.InvalidHeader;
                return false;
            }

            switch (name.Length)
            {
                case 4 when Ascii.EqualsIgnoreCase(name, "Host"u8):
                    hosts++;
                    break;
                case 10 when Ascii.EqualsIgnoreCase(name, "Connection"u8):
                    close |= HasToken(value, "close"u8);
                    keepAlive |= HasToken(value, "keep-alive"u8);
                    break;
                case 14 when Ascii.EqualsIgnoreCase(name, "Content-Length"u8):
                    if (value.IsEmpty || value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0
                        || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                        || (contentLength >= 0 && contentLength != length))
                    {
                        rejection = RequestRejection.InvalidContentLength;
                        return false;
                    }

                    contentLength = length;
                    hasBody |= length > 0;
                    break;
                case 17 when Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8):
                    hasBody = true;
                    break;
                default:
                    Keep(name, value, ref request);
                    break;
            }
        }

        if (hosts > 1 || (hosts == 0 && !http10))
        {
            rejection = RequestRejection.InvalidHost;
            return false;
        }

        rejection = default;
        framing = new HttpFraming(http10, !hasBody && !close && (!http10 || keepAlive), hasBody);
        return true;
    }

    /// <summary>The values <see cref="TrackerHandler"/> reads; a repeated field is joined with ", " (RFC 9110 §5.3).</summary>
    private static void Keep(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ref TrackerRequest request)
    {
        switch (name.Length)
        {
            case 10 when Ascii.EqualsIgnoreCase(name, "User-Agent"u8):
                request.UserAgent = Join(request.UserAgent, value);
                break;
            case 15 when Ascii.EqualsIgnoreCase(name, "Accept-Language"u8):
                request.AcceptLanguage = Join(request.AcceptLanguage, value);
                break;
            case 15 when Ascii.EqualsIgnoreCase(name, "X-Forwarded-For"u8):
                request.ForwardedFor = Join(request.ForwardedFor, value);
                break;
            case 9 when Ascii.EqualsIgnoreCase(name, "X-Real-IP"u8):
                request.RealIp = Join(request.RealIp, value);
                break;
            case 7 when Ascii.EqualsIgnoreCase(name, "Purpose"u8):
                request.Purpose = Join(request.Purpose, value);
                break;
            case 11 when Ascii.EqualsIgnoreCase(name, "Sec-Purpose"u8):
                request.SecPurpose = Join(request.SecPurpose, value);
                break;
            case 5 when Ascii.EqualsIgnoreCase(name, "X-Moz"u8):
                request.XMoz = Join(request.XMoz, value);
                break;
            case 9 when Ascii.EqualsIgnoreCase(name, "X-Purpose"u8):
                request.XPurpose = Join(request.XPurpose, value);
                break;
        }
    }

    /// <summary>UTF-8 where a client sent it (user agents do), with U+FFFD for bytes that are not.</summary>
    private static string Join(string? previous, ReadOnlySpan<byte> value) =>
        previous is null ? Encoding.UTF8.GetString(value) : previous + ", " + Encoding.UTF8.GetString(value);

    /// <summary>Whether a comma-separated list (RFC 9110 §5.6.1) holds the token, case-insensitively.</summary>
    private static bool HasToken(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        foreach (var range in list.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(list[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>token = 1*tchar</c> (RFC 9110 §5.6.2).</summary>
    private static bool IsToken(ReadOnlySpan<byte> value) => !value.IsEmpty && value.IndexOfAnyExcept(TokenChars) < 0;
}
