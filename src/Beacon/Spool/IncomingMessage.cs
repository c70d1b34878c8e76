using System.Buffers;
using System.IO.Hashing;
using Beacon.Smtp;

namespace Beacon.Spool;

/// <summary>
/// A body being received. It stays in memory up to <see cref="MemoryLimit"/> octets (most mail), and beyond that
/// spills to spool/incoming/{id}.body, so a 50 MB message costs a buffer, not 50 MB of memory. Nothing here is
/// durable until <see cref="SpoolStore.CommitAsync(IncomingMessage, SpooledMessage)"/> writes it into the spool log.
/// </summary>
public sealed class IncomingMessage : IContentSink, IDisposable
{
    /// <summary>Bodies up to this size never touch the disk before their commit.</summary>
    public const int MemoryLimit = 256 * 1024;

    private const int FirstBuffer = 16 * 1024;

    private readonly string _spillPath;
    private readonly long _limit;
    private long _content;
    private byte[]? _buffer; // from the shared pool while the body is in memory
    private FileStream? _spill;
    private Crc32 _crc = new();
    private int _released;

    internal IncomingMessage(string messageId, string transmissionId, string spillPath, long limit)
    {
        MessageId = messageId;
        TransmissionId = transmissionId;
        _spillPath = spillPath;
        _limit = limit;
        _buffer = ArrayPool<byte>.Shared.Rent(FirstBuffer);
    }

    public string MessageId { get; }

    public string TransmissionId { get; }

    /// <summary>Octets written so far, prepended headers included.</summary>
    public long Length { get; private set; }

    /// <summary>The content went past the size limit; the excess was dropped, not written.</summary>
    public bool Oversized { get; private set; }

    /// <summary>The whole body while it is in memory; null once it spilled to a file.</summary>
    /// <remarks>The cast matters: without it the conditional is typed Memory&lt;byte&gt;, and its null becomes an empty
    /// memory through the array conversion, never a null.</remarks>
    internal ReadOnlyMemory<byte>? Memory => _buffer is null ? null : (ReadOnlyMemory<byte>?)_buffer.AsMemory(0, (int)Length);

    /// <summary>CRC-32 of the body so far.</summary>
    internal uint Checksum => _crc.GetCurrentHashAsUInt32();

    public void Write(in ReadOnlySequence<byte> content)
    {
        if (Oversized)
        {
            return;
        }

        if (_content + content.Length > _limit)
        {
            Oversized = true;
            return;
        }

        foreach (var segment in content)
        {
            Append(segment.Span);
        }

        _content += content.Length;
    }

    /// <summary>Writes bytes that don't count against the client's size limit (the Received header).</summary>
    public void WriteHeader(ReadOnlySpan<byte> header) => Append(header);

    /// <summary>Reads the body back from the start (header inspection before the commit; the spool log's writer).</summary>
    public Stream OpenRead()
    {
        if (_buffer is not null)
        {
            return new MemoryStream(_buffer, 0, (int)Length, writable: false);
        }

        _spill!.Flush();
        return new FileStream(_spillPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 16 * 1024);
    }

    /// <summary>
    /// Writes the header section anew (a policy changed it): the new section, then the body from
    /// <paramref name="bodyOffset"/> on. A spilled body is copied into a new file, never read into memory.
    /// </summary>
    public void ReplaceHeaderSection(ReadOnlySpan<byte> section, long bodyOffset)
    {
        _crc = new Crc32();
        if (_buffer is { } old)
        {
            var rest = old.AsSpan((int)bodyOffset, (int)(Length - bodyOffset));
            var total = section.Length + rest.Length;
            var replacement = ArrayPool<byte>.Shared.Rent(total);
            section.CopyTo(replacement);
            rest.CopyTo(replacement.AsSpan(section.Length));
            ArrayPool<byte>.Shared.Return(old);
            _buffer = replacement;
            Length = total;
            _crc.Append(replacement.AsSpan(0, total));
            return;
        }

        var path = _spillPath + ".new";
        var output = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 64 * 1024);
        output.Write(section);
        _crc.Append(section);
        _spill!.Position = bodyOffset;
        var chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = _spill.Read(chunk)) > 0)
            {
                output.Write(chunk, 0, read);
                _crc.Append(chunk.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        _spill.Dispose();
        File.Move(path, _spillPath, overwrite: true);
        _spill = output;
        Length = output.Length;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        _crc.Append(bytes);
        if (_buffer is { } buffer)
        {
            var needed = Length + bytes.Length;
            if (needed <= buffer.Length)
            {
                bytes.CopyTo(buffer.AsSpan((int)Length));
                Length = needed;
                return;
            }

            if (needed <= MemoryLimit)
            {
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(MemoryLimit, Math.Max(needed, buffer.Length * 2L)));
                buffer.AsSpan(0, (int)Length).CopyTo(larger);
                bytes.CopyTo(larger.AsSpan((int)Length));
                ArrayPool<byte>.Shared.Return(buffer);
                _buffer = larger;
                Length = needed;
                return;
            }

            // Too large for memory: from here on the body lives in a file.
            _spill = new FileStream(_spillPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 64 * 1024);
            _spill.Write(buffer, 0, (int)Length);
            ArrayPool<byte>.Shared.Return(buffer);
            _buffer = null;
        }

        _spill!.Write(bytes);
        Length += bytes.Length;
    }

    /// <summary>Frees the buffer or deletes the spill file. True the first time only: the spool counts bodies being
    /// received.</summary>
    internal bool Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return false;
        }

        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (_spill is not null)
        {
            _spill.Dispose();
            File.Delete(_spillPath);
        }

        return true;
    }

    public void Dispose() => Release();
}
