using System.Buffers;
using System.Text;
using MimeKit;
using MimeKit.IO;

namespace Beacon.Rendering;

/// <summary>
/// Rewrites one top part: reads its encoded content from the spooled message, decodes it, collects the edits,
/// applies them, and chooses how the result is encoded (spec §F11). Nothing is written here, so a part that
/// cannot be rewritten simply goes out as it was.
/// </summary>
internal static class PartRewriter
{
    /// <summary>The SMTP line limit without CRLF (RFC 5321 §4.5.3.1.6).</summary>
    public const int MaxLineOctets = 998;

    public static PartResult Prepare(Stream source, MimePart part, long headerStart, long headerEnd, bool isHtml,
        RenderOptions options, byte[] newline)
    {
        if (part.Content?.Stream is not BoundStream bounds)
            return default;
        BodyEncoding? encoding = ParseEncoding(part.Headers[HeaderId.ContentTransferEncoding]);
        if (encoding is null)
            return new PartResult(null, 0, default, RenderSkipReason.BrokenEncoding);
        PartCharset? charset = PartCharset.Resolve(part.ContentType.Charset);
        if (charset is null)
            return new PartResult(null, 0, default, RenderSkipReason.UnknownCharset);

        long start = bounds.StartBoundary;
        long end = bounds.EndBoundary;
        int length = checked((int)(end - start));
        byte[]? encoded = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        byte[]? decoded = null;
        LineMap? lines = encoding is BodyEncoding.QuotedPrintable && charset.InPlace ? new LineMap() : null;
        try
        {
            source.Seek(start, SeekOrigin.Begin);
            source.ReadExactly(encoded, 0, length);
            int decodedLength;
            switch (encoding)
            {
                case BodyEncoding.QuotedPrintable:
                    decoded = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                    if (!QuotedPrintable.TryDecode(encoded.AsSpan(0, length), decoded, out decodedLength, lines))
                        return new PartResult(null, 0, default, RenderSkipReason.BrokenEncoding);
                    break;
                case BodyEncoding.Base64:
                    decoded = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                    if (!Base64Body.TryDecode(encoded.AsSpan(0, length), decoded, out decodedLength))
                        return new PartResult(null, 0, default, RenderSkipReason.BrokenEncoding);
                    break;
                default:
                    decodedLength = length;
                    break;
            }

            ReadOnlySpan<byte> content = (decoded ?? encoded).AsSpan(0, decodedLength);
            Encoding strict = charset.InPlace ? charset.Encoding : charset.Strict();
            byte[]? transcoded = null;
            if (!charset.InPlace)
            {
                try
                {
                    transcoded = Encoding.UTF8.GetBytes(strict.GetString(content));
                }
                catch (DecoderFallbackException)
                {
                    return new PartResult(null, 0, default, RenderSkipReason.UnknownCharset);
                }

                content = transcoded;
            }

            var edits = new EditList();
            HtmlRewriteResult html = default;
            int links;
            if (isHtml)
            {
                html = HtmlRewriter.AddEdits(content, charset.InPlace ? charset.Encoding : Encoding.UTF8, options, edits);
                links = html.Links;
            }
            else
            {
                links = TextRewriter.AddEdits(content, options, edits);
            }

            BraceMacros.AddEdits(content, edits);
            if (edits.Count == 0)
                return default;

            int outputLength = edits.Prepare(content.Length);
            if (lines is not null)
            {
                var splice = new QuotedPrintableSplice(encoded, length, decoded!, decodedLength, lines, edits, newline);
                (encoded, decoded, lines) = (null, null, null);
                var spliced = new PreparedPart(headerStart, headerEnd, start, end, null, 0)
                {
                    Encoding = BodyEncoding.QuotedPrintable,
                    Newline = newline,
                    Splice = splice,
                };
                return new PartResult(spliced, links, html, RenderSkipReason.None);
            }

            byte[] rewritten = ArrayPool<byte>.Shared.Rent(Math.Max(outputLength, 1));
            edits.Apply(content, rewritten);
            if (!charset.InPlace)
            {
                byte[] back = strict.GetBytes(Encoding.UTF8.GetString(rewritten, 0, outputLength));
                ArrayPool<byte>.Shared.Return(rewritten);
                rewritten = ArrayPool<byte>.Shared.Rent(Math.Max(back.Length, 1));
                back.CopyTo(rewritten, 0);
                outputLength = back.Length;
            }

            BodyEncoding outputEncoding = encoding.Value;
            string? newTransferEncoding = null;
            ReadOnlySpan<byte> result = rewritten.AsSpan(0, outputLength);
            if ((encoding is BodyEncoding.SevenBit && result.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0)
                || (encoding is BodyEncoding.SevenBit or BodyEncoding.EightBit && LongestLine(result) > MaxLineOctets))
            {
                outputEncoding = BodyEncoding.QuotedPrintable;
                newTransferEncoding = "quoted-printable";
            }

            var prepared = new PreparedPart(headerStart, headerEnd, start, end, rewritten, outputLength)
            {
                Encoding = outputEncoding,
                NewTransferEncoding = newTransferEncoding,
                Newline = newline,
                EndWithNewline = length > 0 && encoded[length - 1] == '\n',
            };
            return new PartResult(prepared, links, html, RenderSkipReason.None);
        }
        finally
        {
            if (encoded is not null)
                ArrayPool<byte>.Shared.Return(encoded);
            if (decoded is not null)
                ArrayPool<byte>.Shared.Return(decoded);
            lines?.Dispose();
        }
    }

    /// <summary>RFC 2045 §6.1 mechanisms, case-insensitive; none means 7bit. Null for anything else (x-uuencode, base9000…).</summary>
    internal static BodyEncoding? ParseEncoding(string? header)
    {
        string value = header?.Trim() ?? string.Empty;
        if (value.Length == 0 || value.Equals("7bit", StringComparison.OrdinalIgnoreCase))
            return BodyEncoding.SevenBit;
        if (value.Equals("8bit", StringComparison.OrdinalIgnoreCase))
            return BodyEncoding.EightBit;
        if (value.Equals("binary", StringComparison.OrdinalIgnoreCase))
            return BodyEncoding.Binary;
        if (value.Equals("quoted-printable", StringComparison.OrdinalIgnoreCase))
            return BodyEncoding.QuotedPrintable;
        if (value.Equals("base64", StringComparison.OrdinalIgnoreCase))
            return BodyEncoding.Base64;
        return null;
    }

    internal static int LongestLine(ReadOnlySpan<byte> text)
    {
        int longest = 0;
        while (true)
        {
            int lf = text.IndexOf((byte)'\n');
            int line = lf < 0 ? text.Length : lf;
            if (line > 0 && lf >= 0 && text[line - 1] == '\r')
                line--;
            longest = Math.Max(longest, line);
            if (lf < 0)
                return longest;
            text = text[(lf + 1)..];
        }
    }
}

/// <summary>The outcome of <see cref="PartRewriter.Prepare"/>; <see cref="Part"/> is null when the part stays as it is.</summary>
internal readonly record struct PartResult(PreparedPart? Part, int Links, HtmlRewriteResult Html, RenderSkipReason Reason);
