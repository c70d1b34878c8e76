namespace Beacon.Rendering;

/// <summary>A start or end tag found by <see cref="HtmlTokenizer"/>: offsets into the part's decoded bytes.</summary>
/// <param name="Start">Offset of <c>&lt;</c>.</param>
/// <param name="End">Offset just after <c>&gt;</c>.</param>
internal readonly record struct HtmlTag(bool IsEndTag, int Start, int End, int NameStart, int NameLength)
{
    public bool NameIs(ReadOnlySpan<byte> html, ReadOnlySpan<byte> lowerName) =>
        NameLength == lowerName.Length && System.Text.Ascii.EqualsIgnoreCase(html.Slice(NameStart, NameLength), lowerName);
}
