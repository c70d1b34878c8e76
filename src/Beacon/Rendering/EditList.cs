namespace Beacon.Rendering;

/// <summary>
/// Replacements of byte ranges in a part's decoded content, applied in one copy. Everything outside the edits is
/// copied as it was, which is how the renderer keeps byte fidelity. When two edits overlap the one added first
/// among those starting earliest wins (a removed <c>data-msys-*</c> attribute beats a brace macro inside it).
/// </summary>
internal sealed class EditList
{
    private readonly List<Edit> _edits = [];

    public int Count => _edits.Count;

    /// <summary>The edits in order, after <see cref="Prepare"/>.</summary>
    public IReadOnlyList<Edit> Edits => _edits;

    public void Replace(int start, int length, byte[] replacement) => _edits.Add(new Edit(start, length, replacement, _edits.Count));

    public void Remove(int start, int length) => Replace(start, length, []);

    public void Insert(int offset, byte[] text) => Replace(offset, 0, text);

    /// <summary>Sorts, drops overlapping edits, and returns the length of the result.</summary>
    public int Prepare(int sourceLength)
    {
        _edits.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Order.CompareTo(b.Order));
        int position = 0;
        long length = sourceLength;
        int kept = 0;
        for (int i = 0; i < _edits.Count; i++)
        {
            Edit edit = _edits[i];

            // An insertion at the end of a replaced range is fine; anything starting inside one is dropped.
            if (edit.Start < position || edit.Start + edit.Length > sourceLength)
                continue;
            _edits[kept++] = edit;
            position = edit.Start + edit.Length;
            length += edit.Replacement.Length - edit.Length;
        }

        _edits.RemoveRange(kept, _edits.Count - kept);
        return checked((int)length);
    }

    /// <summary>Writes <paramref name="source"/> with the prepared edits into <paramref name="destination"/>.</summary>
    public void Apply(ReadOnlySpan<byte> source, Span<byte> destination) => Apply(source, destination, 0, _edits.Count);

    /// <summary>
    /// Writes <paramref name="source"/> (a range of the content that starts at <paramref name="offset"/>) with the
    /// edits <paramref name="first"/>..<paramref name="last"/> (exclusive), which must lie inside it.
    /// </summary>
    public int Apply(ReadOnlySpan<byte> source, Span<byte> destination, int first, int last, int offset = 0)
    {
        int from = 0;
        int to = 0;
        for (int i = first; i < last; i++)
        {
            Edit edit = _edits[i] with { Start = _edits[i].Start - offset };
            int run = edit.Start - from;
            source.Slice(from, run).CopyTo(destination[to..]);
            to += run;
            edit.Replacement.CopyTo(destination[to..]);
            to += edit.Replacement.Length;
            from = edit.Start + edit.Length;
        }

        source[from..].CopyTo(destination[to..]);
        return to + source.Length - from;
    }

    internal readonly record struct Edit(int Start, int Length, byte[] Replacement, int Order);
}
