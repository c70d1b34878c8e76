using System.Buffers;

namespace Beacon.Rendering;

/// <summary>
/// Writes a rewritten quoted-printable part by copying every hard line without an edit in its original encoding
/// and encoding only the lines that changed. That keeps the sender's soft breaks where they were, and it is what
/// makes rendering cost close to a copy: a newsletter has a few dozen changed lines among thousands.
/// </summary>
internal sealed class QuotedPrintableSplice : IDisposable
{
    private readonly EditList _edits;
    private readonly LineMap _lines;
    private readonly byte[] _newline;
    private byte[]? _encoded;
    private byte[]? _decoded;
    private readonly int _encodedLength;
    private readonly int _decodedLength;

    public QuotedPrintableSplice(byte[] encoded, int encodedLength, byte[] decoded, int decodedLength, LineMap lines, EditList edits, byte[] newline)
    {
        _encoded = encoded;
        _encodedLength = encodedLength;
        _decoded = decoded;
        _decodedLength = decodedLength;
        _lines = lines;
        _edits = edits;
        _newline = newline;
    }

    public void Write(OutputBuffer output)
    {
        ReadOnlySpan<byte> encoded = _encoded.AsSpan(0, _encodedLength);
        ReadOnlySpan<byte> decoded = _decoded.AsSpan(0, _decodedLength);
        IReadOnlyList<EditList.Edit> edits = _edits.Edits;
        int next = 0;
        int line = 0;
        int lineCount = _lines.Count + 1;
        int decodedStart = 0;
        int encodedStart = 0;
        while (line < lineCount)
        {
            int decodedEnd = DecodedEnd(line);
            bool last = line == lineCount - 1;
            bool dirty = next < edits.Count && (edits[next].Start < decodedEnd || (last && edits[next].Start <= decodedEnd));
            if (!dirty)
            {
                output.Write(encoded[encodedStart..EncodedEnd(line)]);
            }
            else
            {
                // Extend over every line an edit reaches into, then encode the region with its edits applied.
                int first = next;
                while (next < edits.Count && (edits[next].Start < decodedEnd || (line == lineCount - 1 && edits[next].Start <= decodedEnd)))
                {
                    int editEnd = edits[next].Start + edits[next].Length;
                    while (editEnd > decodedEnd && line < lineCount - 1)
                        decodedEnd = DecodedEnd(++line);
                    next++;
                }

                EncodeRegion(decoded[decodedStart..decodedEnd], decodedStart, first, next, output);

                // A region that ends in a lone LF (not the part's newline) left the encoded line open: close it softly.
                if (line < lineCount - 1 && !decoded[decodedStart..decodedEnd].EndsWith(_newline))
                {
                    output.Write((byte)'=');
                    output.Write(_newline);
                }
            }

            decodedStart = decodedEnd;
            encodedStart = EncodedEnd(line);
            line++;
        }
    }

    private int DecodedEnd(int line) => line < _lines.Count ? _lines.DecodedEnd(line) : _decodedLength;

    private int EncodedEnd(int line) => line < _lines.Count ? _lines.EncodedEnd(line) : _encodedLength;

    private void EncodeRegion(ReadOnlySpan<byte> region, int offset, int first, int last, OutputBuffer output)
    {
        int size = region.Length;
        for (int i = first; i < last; i++)
            size += _edits.Edits[i].Replacement.Length;
        byte[] scratch = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            int length = _edits.Apply(region, scratch, first, last, offset);
            QuotedPrintable.Encode(scratch.AsSpan(0, length), _newline, output);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    public void Dispose()
    {
        if (_encoded is not null)
            ArrayPool<byte>.Shared.Return(_encoded);
        if (_decoded is not null)
            ArrayPool<byte>.Shared.Return(_decoded);
        _encoded = _decoded = null;
        _lines.Dispose();
    }
}
