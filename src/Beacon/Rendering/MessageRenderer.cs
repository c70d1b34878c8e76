using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;

namespace Beacon.Rendering;

/// <summary>
/// Writes one recipient's copy of a spooled message: the original bytes, except the top-level header fields
/// named in <see cref="RenderOptions.RemoveHeaders"/> (and, in a copy where a part is rewritten, those named in
/// <see cref="RenderOptions.RemoveHeadersWhenRewritten"/>) and the content (and, if its encoding must change, the
/// Content-Transfer-Encoding) of the top text/html and text/plain parts. MimeKit parses the structure with
/// <c>persistent: true</c>, so part contents stay in the source stream and are only located by offset; everything
/// between the rewritten parts is copied verbatim. Design note: both parts are prepared before the first byte is
/// written, so a part that fails goes out unchanged (tracking fails open) and a copy is never half-rendered.
/// </summary>
internal sealed class MessageRenderer
{
    private const int MaxUnparsedHeaderBytes = 1024 * 1024;

    private readonly ILogger _logger;

    public MessageRenderer(ILogger<MessageRenderer>? logger = null) => _logger = logger ?? NullLogger<MessageRenderer>.Instance;

    /// <summary>Renders from the current position of <paramref name="input"/> to its end. A stream that cannot seek is buffered in memory first.</summary>
    public RenderReport Render(Stream input, Stream output, RenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        if (!input.CanSeek)
        {
            var buffered = new MemoryStream();
            input.CopyTo(buffered);
            buffered.Position = 0;
            return Render(buffered, output, options);
        }

        long origin = input.Position;
        var entities = new Dictionary<MimeEntity, (long Begin, long HeadersEnd)>(ReferenceEqualityComparer.Instance);
        long messageHeadersEnd = -1;
        MimeMessage? message;
        try
        {
            var parser = new MimeParser(input, MimeFormat.Entity, persistent: true);
            parser.MimeEntityEnd += (_, e) => entities[e.Entity] = (e.BeginOffset, e.HeadersEndOffset);
            parser.MimeMessageEnd += (_, e) => messageHeadersEnd = messageHeadersEnd < 0 ? e.HeadersEndOffset : messageHeadersEnd;
            message = parser.ParseMessage();
        }
        catch (FormatException)
        {
            message = null;
        }

        if (message is null || messageHeadersEnd < origin)
            return RenderUnparsed(input, origin, output, options);

        byte[] newline = ReadNewline(input, origin, messageHeadersEnd);
        var prepared = new List<PreparedPart>(2);
        var report = new RenderReport();
        try
        {
            report = Prepare(input, message, entities, options, newline, prepared);
        }
        catch (Exception e) when (e is not IOException and not OperationCanceledException)
        {
            // Tracking fails open (ARCHITECTURE §5.8): the copy goes out as spooled, and the event says why.
            _logger.LogError(e, "Rendering failed; the message is sent without tracking");
            prepared.ForEach(static part => part.Dispose());
            prepared.Clear();
            report = new RenderReport { SkipReason = RenderSkipReason.InternalError };
        }

        try
        {
            (int removed, int signaturesRemoved) = Write(input, origin, messageHeadersEnd, prepared, options, newline, output);
            return report with { HeadersRemoved = removed, SignaturesRemoved = signaturesRemoved };
        }
        finally
        {
            prepared.ForEach(static part => part.Dispose());
        }
    }

    private static RenderReport Prepare(Stream input, MimeMessage message, Dictionary<MimeEntity, (long Begin, long HeadersEnd)> entities,
        RenderOptions options, byte[] newline, List<PreparedPart> prepared)
    {
        if (!options.OpenTracking && !options.ClickTracking)
            return new RenderReport();
        TopParts top = TopParts.Find(message.Body);
        if (top.Reason != RenderSkipReason.None)
            return new RenderReport { SkipReason = top.Reason };
        if (top.Html is null && top.Text is null)
            return new RenderReport { SkipReason = RenderSkipReason.NoTrackablePart };

        var report = new RenderReport();
        foreach ((MimePart? part, bool isHtml) in new[] { (top.Html, true), (top.Text, false) })
        {
            if (part is null || !entities.TryGetValue(part, out (long Begin, long HeadersEnd) at))
                continue;
            PartResult result = PartRewriter.Prepare(input, part, at.Begin, at.HeadersEnd, isHtml, options, newline);
            if (result.Part is not null)
            {
                result.Part.IsRoot = ReferenceEquals(part, message.Body);
                prepared.Add(result.Part);
            }
            report = report with
            {
                LinksRewritten = report.LinksRewritten + result.Links,
                OpenPixelInserted = report.OpenPixelInserted || (result.Part is not null && result.Html.Pixel),
                InitialOpenPixelInserted = report.InitialOpenPixelInserted || (result.Part is not null && result.Html.InitialPixel),
                HtmlPartRewritten = report.HtmlPartRewritten || (isHtml && result.Part is not null),
                TextPartRewritten = report.TextPartRewritten || (!isHtml && result.Part is not null),
                SkipReason = report.SkipReason == RenderSkipReason.None ? result.Reason : report.SkipReason,
            };
        }

        return report;
    }

    private static (int Removed, int SignaturesRemoved) Write(Stream input, long origin, long headersEnd, List<PreparedPart> prepared,
        RenderOptions options, byte[] newline, Stream output)
    {
        prepared.Sort(static (a, b) => a.ContentStart.CompareTo(b.ContentStart));
        PreparedPart? root = prepared.Find(static part => part.IsRoot);
        using var buffer = new OutputBuffer(output);
        // A signature over the body (bh=) fails once a part is rewritten, and a failing signature is worse than
        // none (DMARC may count it against the sender); an untouched copy keeps it, still valid.
        (int Removed, int SignaturesRemoved) removed = WriteHeaderBlock(input, origin, headersEnd, options.RemoveHeaders,
            root?.NewTransferEncoding, newline, buffer, prepared.Count > 0 ? options.RemoveHeadersWhenRewritten : null);
        long position = headersEnd;
        foreach (PreparedPart part in prepared)
        {
            if (part != root)
            {
                Copy(input, position, part.HeaderStart, buffer);
                if (part.NewTransferEncoding is null)
                    Copy(input, part.HeaderStart, part.HeaderEnd, buffer);
                else
                    WriteHeaderBlock(input, part.HeaderStart, part.HeaderEnd, [], part.NewTransferEncoding, newline, buffer);
                position = part.HeaderEnd;
            }

            Copy(input, position, part.ContentStart, buffer);
            part.WriteContent(buffer);
            position = part.ContentEnd;
        }

        Copy(input, position, input.Length, buffer);
        return removed;
    }

    private static RenderReport RenderUnparsed(Stream input, long origin, Stream output, RenderOptions options)
    {
        int probe = (int)Math.Min(input.Length - origin, MaxUnparsedHeaderBytes);
        byte[] head = ArrayPool<byte>.Shared.Rent(Math.Max(probe, 1));
        int headerLength;
        try
        {
            input.Seek(origin, SeekOrigin.Begin);
            input.ReadExactly(head, 0, probe);
            headerLength = HeaderBlock.FindEnd(head.AsSpan(0, probe));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }

        using var buffer = new OutputBuffer(output);
        (int removed, _) = WriteHeaderBlock(input, origin, origin + headerLength, options.RemoveHeaders, null, "\r\n"u8.ToArray(), buffer);
        Copy(input, origin + headerLength, input.Length, buffer);
        return new RenderReport { SkipReason = RenderSkipReason.Unparseable, HeadersRemoved = removed };
    }

    private static (int Removed, int AlsoRemoved) WriteHeaderBlock(Stream input, long start, long end, IReadOnlyList<string> remove,
        string? transferEncoding, byte[] newline, OutputBuffer output, IReadOnlyList<string>? alsoRemove = null)
    {
        int length = checked((int)(end - start));
        byte[] block = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            input.Seek(start, SeekOrigin.Begin);
            input.ReadExactly(block, 0, length);
            return HeaderBlock.Write(block.AsSpan(0, length), remove, transferEncoding, newline, output, alsoRemove);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    private static byte[] ReadNewline(Stream input, long start, long end)
    {
        Span<byte> head = stackalloc byte[(int)Math.Min(end - start, 4096)];
        input.Seek(start, SeekOrigin.Begin);
        input.ReadExactly(head);
        return HeaderBlock.DetectNewline(head);
    }

    private static void Copy(Stream input, long from, long to, OutputBuffer output)
    {
        if (to <= from)
            return;
        input.Seek(from, SeekOrigin.Begin);
        long remaining = to - from;
        while (remaining > 0)
        {
            Span<byte> span = output.GetSpan(16 * 1024);
            int read = input.Read(span[..(int)Math.Min(span.Length, remaining)]);
            if (read == 0)
                throw new EndOfStreamException("The spooled message is shorter than when it was parsed.");
            output.Advance(read);
            remaining -= read;
        }
    }
}
