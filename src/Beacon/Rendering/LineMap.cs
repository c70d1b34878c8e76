using System.Buffers;

namespace Beacon.Rendering;

/// <summary>
/// Where each hard line of a quoted-printable part ends, as (decoded offset, encoded offset) pairs, so lines
/// without edits can be copied in their original encoding. Pooled: a 20 MB part has hundreds of thousands of lines.
/// </summary>
internal sealed class LineMap : IDisposable
{
    private int[] _pairs = ArrayPool<int>.Shared.Rent(256);

    public int Count { get; private set; }

    public void Add(int decodedEnd, int encodedEnd)
    {
        if (Count * 2 + 2 > _pairs.Length)
        {
            int[] larger = ArrayPool<int>.Shared.Rent(_pairs.Length * 2);
            _pairs.AsSpan(0, Count * 2).CopyTo(larger);
            ArrayPool<int>.Shared.Return(_pairs);
            _pairs = larger;
        }

        _pairs[Count * 2] = decodedEnd;
        _pairs[Count * 2 + 1] = encodedEnd;
        Count++;
    }

    public int DecodedEnd(int line) => _pairs[line * 2];

    public int EncodedEnd(int line) => _pairs[line * 2 + 1];

    public void Dispose()
    {
        ArrayPool<int>.Shared.Return(_pairs);
        _pairs = [];
    }
}
