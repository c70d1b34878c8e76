namespace Beacon.Rendering;

/// <summary>
/// One attribute of a tag, as offsets into the part's decoded bytes. <see cref="LeadStart"/>..<see cref="End"/>
/// is what removing the attribute deletes (the white space before it and the attribute), so
/// <c>&lt;a href="x" data-msys-linkname="y"&gt;</c> becomes <c>&lt;a href="x"&gt;</c>.
/// </summary>
internal readonly record struct HtmlAttribute(int LeadStart, int NameStart, int NameLength, int ValueStart, int ValueLength, byte Quote, int End)
{
    /// <summary>False for a bare attribute (<c>&lt;td nowrap&gt;</c>); then ValueStart is -1.</summary>
    public bool HasValue => ValueStart >= 0;

    public ReadOnlySpan<byte> Name(ReadOnlySpan<byte> html) => html.Slice(NameStart, NameLength);

    public ReadOnlySpan<byte> Value(ReadOnlySpan<byte> html) => HasValue ? html.Slice(ValueStart, ValueLength) : default;
}
