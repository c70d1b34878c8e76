using MimeKit;

namespace Beacon.Rendering;

/// <summary>
/// The parts tracking may change (spec §5 Q14): the first text/html and the first text/plain leaf in depth-first
/// order that is not an attachment (<c>Content-Disposition: attachment</c> or a file name) and not inside a
/// message/rfc822; for a single-part message, the body itself. A message with a signed or encrypted entity
/// anywhere outside an attached message is never changed, because the rewriting would break the signature.
/// </summary>
internal readonly record struct TopParts(MimePart? Html, MimePart? Text, RenderSkipReason Reason)
{
    public static TopParts Find(MimeEntity? body)
    {
        MimePart? html = null;
        MimePart? text = null;
        RenderSkipReason reason = RenderSkipReason.None;
        Visit(body, ref html, ref text, ref reason);
        return reason == RenderSkipReason.None ? new TopParts(html, text, reason) : new TopParts(null, null, reason);
    }

    private static void Visit(MimeEntity? entity, ref MimePart? html, ref MimePart? text, ref RenderSkipReason reason)
    {
        if (entity is null || entity is MessagePart || reason != RenderSkipReason.None)
            return;
        ContentType type = entity.ContentType;
        if (type.IsMimeType("multipart", "signed"))
        {
            reason = RenderSkipReason.Signed;
            return;
        }

        if (type.IsMimeType("multipart", "encrypted") || type.IsMimeType("application", "pkcs7-mime")
            || type.IsMimeType("application", "x-pkcs7-mime"))
        {
            string? smime = type.Parameters.TryGetValue("smime-type", out string? value) ? value : null;
            reason = string.Equals(smime, "signed-data", StringComparison.OrdinalIgnoreCase)
                ? RenderSkipReason.Signed
                : RenderSkipReason.Encrypted;
            return;
        }

        if (entity is Multipart multipart)
        {
            foreach (MimeEntity child in multipart)
                Visit(child, ref html, ref text, ref reason);
            return;
        }

        if (entity is not MimePart part || IsAttachment(part))
            return;
        if (html is null && type.IsMimeType("text", "html"))
            html = part;
        else if (text is null && type.IsMimeType("text", "plain"))
            text = part;
    }

    private static bool IsAttachment(MimePart part) =>
        part.ContentDisposition?.Disposition is { } disposition
            && disposition.Equals(ContentDisposition.Attachment, StringComparison.OrdinalIgnoreCase)
        || part.FileName is not null;
}
