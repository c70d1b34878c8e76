using System.Buffers;
using Beacon.Smtp;

namespace Beacon.Spool;

/// <summary>
/// A body being received: streamed straight into spool/queue/{id}.eml, so a 50 MB message costs a
/// buffer, not 50 MB of memory. Nothing here is durable until <see cref="SpoolStore.CommitAsync"/>.
/// </summary>
public sealed class IncomingMessage : IContentSink, IDisposable
{
    private FileStream _stream;
    private readonly long _limit;
    private long _content;
    private int _finished;

    // The first octets of the message stay in memory as well, so the header section can be read at the end of
    // DATA without opening the file again (an extra open per message costs measurable kernel time).
    private readonly byte[] _head = new byte[HeadBytes];
    private int _headLength;
    private const int HeadBytes = 16 * 1024;

    internal IncomingMessage(string messageId, string transmissionId, string path, long limit)
    {
        MessageId = messageId;
        TransmissionId = transmissionId;
        BodyPath = path;
        _limit = limit;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 64 * 1024);
    }

    public string MessageId { get; }

    public string TransmissionId { get; }

    internal string BodyPath { get; }

    /// <summary>Octets written so far, prepended headers included.</summary>
    public long Length { get; private set; }

    /// <summary>The content went past the size limit; the excess was dropped, not written.</summary>
    public bool Oversized { get; private set; }

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
            _stream.Write(segment.Span);
            Remember(segment.Span);
        }

        _content += content.Length;
        Length += content.Length;
    }

    /// <summary>Writes bytes that don't count against the client's size limit (the Received header).</summary>
    public void WriteHeader(ReadOnlySpan<byte> header)
    {
        _stream.Write(header);
        Remember(header);
        Length += header.Length;
    }

    /// <summary>Reads the body back from the start (for header inspection before the commit).</summary>
    public Stream OpenRead()
    {
        // When the whole message, or at least its whole header section, is in memory, read it from there.
        if (_headLength == Length || _head.AsSpan(0, _headLength).IndexOf("\r\n\r\n"u8) >= 0)
        {
            return new MemoryStream(_head, 0, _headLength, writable: false);
        }

        _stream.Flush();
        return new FileStream(BodyPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 16 * 1024);
    }

    /// <summary>
    /// Writes the header section anew (a policy changed it): a new file with the new section and the body from
    /// <paramref name="bodyOffset"/> on, which then takes the old one's place. The body is copied, never re-read
    /// into memory.
    /// </summary>
    public void ReplaceHeaderSection(ReadOnlySpan<byte> section, long bodyOffset)
    {
        var replacement = BodyPath + ".new";
        _stream.Flush();
        using (var output = new FileStream(replacement, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
        {
            output.Write(section);
            _stream.Position = bodyOffset;
            _stream.CopyTo(output);
        }

        _stream.Dispose();
        File.Move(replacement, BodyPath, overwrite: true);
        _stream = new FileStream(BodyPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 64 * 1024);
        _stream.Seek(0, SeekOrigin.End);
        Length = _stream.Length;
        _headLength = 0; // stale now; OpenRead falls back to the file
    }

    private void Remember(ReadOnlySpan<byte> bytes)
    {
        var take = Math.Min(bytes.Length, HeadBytes - _headLength);
        bytes[..take].CopyTo(_head.AsSpan(_headLength));
        _headLength += take;
    }

    /// <summary>Writes bytes after the message that are not part of it (the spool's metadata trailer).</summary>
    internal void Append(ReadOnlySpan<byte> bytes) => _stream.Write(bytes); // the stream stands at the end

    internal void FlushToDisk() => _stream.Flush(flushToDisk: true);

    /// <summary>True the first time only: the spool counts bodies being received.</summary>
    internal bool MarkFinished() => Interlocked.Exchange(ref _finished, 1) == 0;

    public void Dispose() => _stream.Dispose();
}
