using System.Buffers;

namespace Beacon.Rendering;

/// <summary>
/// A rewritten top part, ready to be spliced into the copy: where its header block and content lie in the
/// original, and its new decoded content in a pooled buffer, encoded while it is written out.
/// </summary>
internal sealed class PreparedPart : IDisposable
{
    private byte[]? _content;
    private readonly int _length;

    public PreparedPart(long headerStart, long headerEnd, long contentStart, long contentEnd, byte[]? content, int length)
    {
        HeaderStart = headerStart;
        HeaderEnd = headerEnd;
        ContentStart = contentStart;
        ContentEnd = contentEnd;
        _content = content;
        _length = length;
    }

    public long HeaderStart { get; }

    public long HeaderEnd { get; }

    public long ContentStart { get; }

    public long ContentEnd { get; }

    public BodyEncoding Encoding { get; init; }

    /// <summary>The message body itself (a single-part message): its header block is the message's.</summary>
    public bool IsRoot { get; set; }

    /// <summary>The new Content-Transfer-Encoding when a 7bit or 8bit part must become quoted-printable; else null.</summary>
    public string? NewTransferEncoding { get; init; }

    public required byte[] Newline { get; init; }

    /// <summary>For a quoted-printable part: writes unchanged lines in their original encoding (then the content buffer is null).</summary>
    public QuotedPrintableSplice? Splice { get; init; }

    /// <summary>Whether the encoded base64 ended with a line break before the boundary; kept so the layout matches.</summary>
    public bool EndWithNewline { get; init; }

    public void WriteContent(OutputBuffer output)
    {
        if (Splice is not null)
        {
            Splice.Write(output);
            return;
        }

        ReadOnlySpan<byte> content = _content.AsSpan(0, _length);
        switch (Encoding)
        {
            case BodyEncoding.QuotedPrintable:
                QuotedPrintable.Encode(content, Newline, output);
                break;
            case BodyEncoding.Base64:
                Base64Body.Encode(content, Newline, EndWithNewline, output);
                break;
            default:
                output.Write(content);
                break;
        }
    }

    public void Dispose()
    {
        if (_content is not null)
            ArrayPool<byte>.Shared.Return(_content);
        _content = null;
        Splice?.Dispose();
    }
}
