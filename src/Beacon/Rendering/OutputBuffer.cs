using System.Buffers;

namespace Beacon.Rendering;

/// <summary>A pooled buffer in front of the output stream, so encoders can write byte by byte without a call per byte.</summary>
internal sealed class OutputBuffer : IDisposable
{
    private const int Size = 64 * 1024;

    private readonly Stream _output;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Size);
    private int _count;

    public OutputBuffer(Stream output) => _output = output;

    public void Write(byte b)
    {
        if (_count == _buffer.Length)
            Flush();
        _buffer[_count++] = b;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > _buffer.Length - _count)
        {
            Flush();
            if (bytes.Length > _buffer.Length)
            {
                _output.Write(bytes);
                return;
            }
        }

        bytes.CopyTo(_buffer.AsSpan(_count));
        _count += bytes.Length;
    }

    /// <summary>A span of at least <paramref name="size"/> free bytes; call <see cref="Advance"/> after filling it.</summary>
    public Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - _count < size)
            Flush();
        return _buffer.AsSpan(_count);
    }

    public void Advance(int count) => _count += count;

    public void Flush()
    {
        if (_count > 0)
            _output.Write(_buffer, 0, _count);
        _count = 0;
    }

    public void Dispose()
    {
        Flush();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
