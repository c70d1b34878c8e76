using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Beacon.Spool;

/// <summary>
/// The spool's message log: append-only segment files spool/log/{number:D10}.log, each a run of records
///   [32-octet header][metadata JSON][body]
/// header (little-endian): kind "BMSG" or "BEND", state "LIVE" or "DEAD", metadata length, metadata CRC-32, body
/// length (64-bit), body CRC-32, CRC-32 of the header's other fields (all but the state, which a removal overwrites
/// in place). One writer thread appends for every session and makes each batch durable with one fdatasync (a group
/// commit): a commit costs no file creation and a share of one sync. A segment that reaches
/// <see cref="SegmentSize"/> is sealed with a "BEND" record after its last sync and a new one begins; a sealed
/// segment whose every message is gone is deleted. Only the segment being written when a process died can end in a
/// torn record, so only unsealed segments have their bodies' checksums verified on start.
/// </summary>
internal sealed class SpoolLog : IDisposable
{
    public const long SegmentSize = 64L * 1024 * 1024;
    public const int HeaderSize = 32;
    public const int MaxMetadata = 16 * 1024 * 1024;

    private static readonly uint MessageKind = BinaryPrimitives.ReadUInt32LittleEndian("BMSG"u8);
    private static readonly uint SealKind = BinaryPrimitives.ReadUInt32LittleEndian("BEND"u8);
    private static readonly uint LiveState = BinaryPrimitives.ReadUInt32LittleEndian("LIVE"u8);
    private static readonly uint DeadState = BinaryPrimitives.ReadUInt32LittleEndian("DEAD"u8);

    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly List<LogAppend> _pending = [];
    private readonly Dictionary<long, LogSegment> _segments = [];
    private LogSegment? _head;
    private Thread? _writer;
    private bool _stopping;
    private bool _rotate;

    public SpoolLog(string directory, ILogger logger)
    {
        Directory = directory;
        _logger = logger;
        System.IO.Directory.CreateDirectory(directory);
    }

    public string Directory { get; }

    /// <summary>Segment files on disk, oldest first.</summary>
    public string[] SegmentFiles()
    {
        var files = System.IO.Directory.GetFiles(Directory, "*.log");
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    /// <summary>Octets of the segments this process knows (recovered or written), as they stand.</summary>
    public long Size() => Segments().Sum(s =>
    {
        lock (s)
        {
            return s.Handle is null ? 0 : s.Length;
        }
    });

    /// <summary>
    /// The segments this process knows, as a copy. (Lock order: a segment's lock may take <c>_gate</c> — a deletion
    /// forgets the segment — so whoever holds <c>_gate</c> takes no segment's lock.)
    /// </summary>
    private List<LogSegment> Segments()
    {
        lock (_gate)
        {
            return [.. _segments.Values];
        }
    }

    /// <summary>Appends a record; the task completes once it is durable, with where the record lies.</summary>
    public Task<LogLocation> AppendAsync(byte[] metadata, IncomingMessage body) => Enqueue(new LogAppend(metadata, body, null));

    /// <summary>Copies a record as it is into the segment being written (compaction); completes once the copy is durable.</summary>
    public Task<LogLocation> CopyAsync(LogLocation record) => Enqueue(new LogAppend(null, null, record));

    private Task<LogLocation> Enqueue(LogAppend append)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _writer ??= StartWriter();
            _pending.Add(append);
            if (_pending.Count == 1)
            {
                Monitor.Pulse(_gate);
            }
        }

        return append.Done.Task;
    }

    /// <summary>Marks a record dead (not synced: a crash may bring it back) and deletes its segment once nothing in it lives.</summary>
    public void Release(LogLocation location)
    {
        var segment = location.Segment;
        lock (segment)
        {
            if (segment.Handle is null)
            {
                return;
            }

            RandomAccess.Write(segment.Handle, DeadBytes, location.Offset + 4);
            segment.Live--;
            segment.LiveBytes -= location.Length;
            DeleteIfDone(segment);
        }
    }

    /// <summary>Opens a record's body: its own read-only stream, which survives the segment's deletion.</summary>
    public static Stream OpenBody(LogLocation location)
    {
        var file = new FileStream(location.Segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
        return new BoundedStream(file, location.BodyOffset, location.BodyLength);
    }

    /// <summary>Reads a record's metadata JSON again (the latest metadata of a message that was never updated).</summary>
    public static byte[] ReadMetadata(LogLocation location)
    {
        using var file = new FileStream(location.Segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var metadata = new byte[location.BodyOffset - location.Offset - HeaderSize];
        RandomAccess.Read(file.SafeFileHandle, metadata, location.Offset + HeaderSize);
        return metadata;
    }

    /// <summary>
    /// Reads a segment record by record, read-only, and says how far it read well. In a sealed segment every record
    /// was durable: the bodies are not read, and a record whose header is sound but whose metadata fails its CRC is
    /// damage, reported (<see cref="ScannedRecord.Damage"/>) and stepped over. In an unsealed one (being written, or
    /// written when a process died) every live body is checked too, and the first record that fails ends the read:
    /// what follows is a commit cut short.
    /// </summary>
    public static SegmentScan Scan(string path, Action<ScannedRecord> record)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
        var length = file.Length;
        var header = new byte[HeaderSize];
        var sealedFile = length >= HeaderSize && ReadHeaderAt(file, length - HeaderSize, header) && IsValidHeader(header) &&
            BinaryPrimitives.ReadUInt32LittleEndian(header) == SealKind;
        if (sealedFile)
        {
            // The last 32 octets look like a seal, but a client's body can end in those very octets (the header's
            // checksum is no secret). The bodies go unchecked only if the records lead to that seal; otherwise a
            // forged seal would let a body torn by a crash in the segment being written through unchecked.
            var records = new List<ScannedRecord>();
            var scan = Walk(file, length, header, sealedFile, sealedWalk: true, records.Add);
            if (scan.Problem is null && scan.EndsInSeal)
            {
                records.ForEach(record);
                return scan;
            }
        }

        return Walk(file, length, header, sealedFile, sealedWalk: false, record);
    }

    private static SegmentScan Walk(FileStream file, long length, byte[] header, bool sealedFile, bool sealedWalk, Action<ScannedRecord> record)
    {
        var offset = 0L;
        while (offset < length)
        {
            if (length - offset < HeaderSize || !ReadHeaderAt(file, offset, header))
            {
                return new SegmentScan(offset, sealedFile, "a torn record header at the end");
            }

            if (!IsValidHeader(header))
            {
                return new SegmentScan(offset, sealedFile, $"a damaged record header at offset {offset}");
            }

            var kind = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (kind == SealKind)
            {
                var end = offset + HeaderSize;
                return new SegmentScan(end, sealedFile, end == length ? null : $"{length - end} octets after the segment's seal", EndsInSeal: true);
            }

            var state = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            var metadataLength = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
            var bodyLength = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
            var bodyOffset = offset + HeaderSize + metadataLength;
            if (kind != MessageKind || (state != LiveState && state != DeadState) || metadataLength is < 0 or > MaxMetadata || bodyLength < 0)
            {
                return new SegmentScan(offset, sealedFile, $"an unknown record at offset {offset}");
            }

            if (bodyLength > length - bodyOffset)
            {
                return new SegmentScan(offset, sealedFile, $"a record at offset {offset} longer than the segment (torn)");
            }

            var metadata = new byte[metadataLength];
            file.Position = offset + HeaderSize;
            file.ReadExactly(metadata);
            if (Crc32.HashToUInt32(metadata) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12)))
            {
                if (!sealedWalk)
                {
                    return new SegmentScan(offset, sealedFile, $"metadata failing its checksum at offset {offset}");
                }

                if (state == LiveState)
                {
                    record(new ScannedRecord(offset, metadata, bodyOffset, bodyLength, $"metadata failing its checksum at offset {offset}"));
                }

                offset = bodyOffset + bodyLength;
                continue;
            }

            if (!sealedWalk && state == LiveState && BodyChecksum(file, bodyOffset, bodyLength) != BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(24)))
            {
                return new SegmentScan(offset, sealedFile, $"a body failing its checksum at offset {offset} (torn)");
            }

            if (state == LiveState)
            {
                record(new ScannedRecord(offset, metadata, bodyOffset, bodyLength));
            }

            offset = bodyOffset + bodyLength;
        }

        return new SegmentScan(offset, sealedFile, null);
    }

    /// <summary>
    /// Takes over a segment found on start, after <see cref="Scan"/>: cuts it to its good length and seals it if it
    /// was not (so the next start need not verify its bodies again). Its live records are then counted with
    /// <see cref="Track"/>, and <see cref="DeleteUnused"/> removes the segments left without any.
    /// </summary>
    public LogSegment Adopt(string path, SegmentScan scan)
    {
        var number = long.Parse(Path.GetFileNameWithoutExtension(path), System.Globalization.CultureInfo.InvariantCulture);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var segment = new LogSegment(number, path) { Handle = handle, Length = scan.GoodLength, Sealed = true, SealedAt = Environment.TickCount64 };
        if (scan.Problem is not null || !scan.EndsInSeal)
        {
            RandomAccess.SetLength(handle, scan.GoodLength);
            if (!scan.EndsInSeal)
            {
                RandomAccess.Write(handle, SealRecord(), scan.GoodLength);
                segment.Length += HeaderSize;
            }

            DurableFile.SyncData(handle);
        }

        lock (_gate)
        {
            _segments[number] = segment;
        }

        return segment;
    }

    /// <summary>Counts a live record of an adopted segment.</summary>
    public static void Track(LogLocation location)
    {
        lock (location.Segment)
        {
            location.Segment.Live++;
            location.Segment.LiveBytes += location.Length;
        }
    }

    /// <summary>Deletes the adopted segments in which nothing lives.</summary>
    public void DeleteUnused()
    {
        foreach (var segment in Segments())
        {
            lock (segment)
            {
                DeleteIfDone(segment);
            }
        }
    }

    /// <summary>
    /// Sealed segments mostly dead for a while: at most a quarter of their octets still live, sealed at least
    /// <paramref name="age"/> ago. Their live records are worth copying forward so that the file can go: without
    /// this, one message deferred for days would keep its whole segment on disk.
    /// </summary>
    public List<LogSegment> CompactionCandidates(TimeSpan age)
    {
        var now = Environment.TickCount64;
        return [.. Segments().Where(s =>
        {
            lock (s)
            {
                return s.Sealed && s.Handle is not null && s.Live > 0 && s.LiveBytes * 4 <= s.Length && now - s.SealedAt >= age.TotalMilliseconds;
            }
        })];
    }

    private static readonly byte[] DeadBytes = BitConverter.GetBytes(DeadState);

    private static bool ReadHeaderAt(FileStream file, long offset, byte[] header) =>
        RandomAccess.Read(file.SafeFileHandle, header, offset) == HeaderSize;

    private static bool IsValidHeader(ReadOnlySpan<byte> header) =>
        HeaderChecksum(header) == BinaryPrimitives.ReadUInt32LittleEndian(header[28..]);

    private static uint HeaderChecksum(ReadOnlySpan<byte> header)
    {
        var crc = new Crc32();
        crc.Append(header[..4]);
        crc.Append(header[8..28]);
        return crc.GetCurrentHashAsUInt32();
    }

    private static uint BodyChecksum(FileStream file, long offset, long length)
    {
        var crc = new Crc32();
        var chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (length > 0)
            {
                var read = RandomAccess.Read(file.SafeFileHandle, chunk.AsSpan(0, (int)Math.Min(chunk.Length, length)), offset);
                if (read == 0)
                {
                    break;
                }

                crc.Append(chunk.AsSpan(0, read));
                offset += read;
                length -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return crc.GetCurrentHashAsUInt32();
    }

    private static byte[] Header(uint kind, ReadOnlySpan<byte> metadata, long bodyLength, uint bodyChecksum)
    {
        var header = new byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, kind);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), kind == MessageKind ? LiveState : 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), metadata.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), Crc32.HashToUInt32(metadata));
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), bodyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), bodyChecksum);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), HeaderChecksum(header));
        return header;
    }

    private static byte[] SealRecord() => Header(SealKind, [], 0, 0);

    private Thread StartWriter()
    {
        var thread = new Thread(Write) { IsBackground = true, Name = "beacon spool log" };
        thread.Start();
        return thread;
    }

    /// <summary>The writer: takes whatever commits are waiting, writes them in one go, syncs once, answers them all.</summary>
    private void Write()
    {
        var batch = new List<LogAppend>();
        while (true)
        {
            lock (_gate)
            {
                while (_pending.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                if (_pending.Count == 0)
                {
                    return;
                }

                batch.AddRange(_pending);
                _pending.Clear();
            }

            try
            {
                WriteBatch(batch);
            }
            catch (Exception e)
            {
                // A fault of the writer itself: the sessions hear of it (their clients retry) instead of waiting forever.
                _logger.LogCritical(e, "spool: the log writer failed");
                foreach (var append in batch)
                {
                    append.Done.TrySetException(e);
                }
            }

            batch.Clear();
        }
    }

    private void WriteBatch(List<LogAppend> batch)
    {
        LogSegment head;
        long start;
        try
        {
            head = Head();
            start = head.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogError(e, "spool: cannot start a log segment in {Path}", Directory);
            foreach (var append in batch)
            {
                append.Done.TrySetException(e);
            }

            return;
        }

        var locations = new LogLocation[batch.Count];
        var gather = new List<ReadOnlyMemory<byte>>(batch.Count * 3);
        var written = start;
        var offset = start;
        try
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (batch[i].Record is { } record)
                {
                    written = Flush(head.Handle!, gather, written);
                    using (var source = new BoundedStream(new FileStream(record.Segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1), record.Offset, record.Length))
                    {
                        written = Copy(source, head.Handle!, written);
                    }

                    locations[i] = new LogLocation(head, offset, offset + (record.BodyOffset - record.Offset), record.BodyLength);
                    offset += record.Length;
                    continue;
                }

                var (metadata, body) = (batch[i].Metadata!, batch[i].Body!);
                gather.Add(Header(MessageKind, metadata, body.Length, body.Checksum));
                gather.Add(metadata);
                var bodyOffset = offset + HeaderSize + metadata.Length;
                if (body.Memory is { } memory)
                {
                    gather.Add(memory);
                }
                else
                {
                    written = Flush(head.Handle!, gather, written);
                    using var source = body.OpenRead();
                    written = Copy(source, head.Handle!, written);
                }

                locations[i] = new LogLocation(head, offset, bodyOffset, body.Length);
                offset = bodyOffset + body.Length;
            }

            Flush(head.Handle!, gather, written);
            DurableFile.SyncData(head.Handle!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogError(e, "spool: writing {Count} messages to {Path} failed", batch.Count, head.Path);
            try
            {
                RandomAccess.SetLength(head.Handle!, start); // none of these was acknowledged: no trace may stay
            }
            catch (IOException)
            {
                _rotate = true; // the segment's end is unknown now: the next batch starts a new one
            }

            foreach (var append in batch)
            {
                append.Done.TrySetException(e);
            }

            return;
        }

        lock (head)
        {
            head.Length = offset;
            head.Live += batch.Count;
            head.LiveBytes += offset - start;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Done.TrySetResult(locations[i]);
        }
    }

    private static long Flush(SafeFileHandle handle, List<ReadOnlyMemory<byte>> gather, long offset)
    {
        if (gather.Count > 0)
        {
            RandomAccess.Write(handle, gather, offset);
            foreach (var part in gather)
            {
                offset += part.Length;
            }

            gather.Clear();
        }

        return offset;
    }

    private static long Copy(Stream source, SafeFileHandle target, long offset)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            int read;
            while ((read = source.Read(chunk)) > 0)
            {
                RandomAccess.Write(target, chunk.AsSpan(0, read), offset);
                offset += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return offset;
    }

    /// <summary>The segment to append to: the current one until it is full, then a new one.</summary>
    private LogSegment Head()
    {
        if (_head is { } head && head.Length < SegmentSize && !_rotate)
        {
            return head;
        }

        if (_head is not null)
        {
            Seal(_head);
        }

        // After every segment known to this process, and after every file on disk (a store that never recovered).
        long number;
        lock (_gate)
        {
            number = _segments.Count == 0 ? 0 : _segments.Keys.Max();
        }

        foreach (var file in SegmentFiles())
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(file), System.Globalization.CultureInfo.InvariantCulture, out var existing))
            {
                number = Math.Max(number, existing);
            }
        }

        number++;

        var path = Path.Combine(Directory, number.ToString("D10", System.Globalization.CultureInfo.InvariantCulture) + ".log");
        var segment = new LogSegment(number, path)
        {
            Handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete),
        };
        DurableFile.SyncDirectory(Directory);
        lock (_gate)
        {
            _segments[number] = segment;
        }

        _rotate = false;
        return _head = segment;
    }

    /// <summary>Ends a segment with its seal, after everything in it is durable.</summary>
    private void Seal(LogSegment segment)
    {
        lock (segment)
        {
            if (segment.Handle is null)
            {
                return;
            }

            try
            {
                RandomAccess.Write(segment.Handle, SealRecord(), segment.Length);
                DurableFile.SyncData(segment.Handle);
                segment.Length += HeaderSize;
            }
            catch (IOException e)
            {
                // Without its seal the segment is checked record by record on the next start: slower, not unsafe.
                _logger.LogWarning(e, "spool: could not seal {Path}", segment.Path);
            }

            segment.Sealed = true;
            segment.SealedAt = Environment.TickCount64;
            DeleteIfDone(segment);
        }
    }

    /// <summary>Deletes a sealed segment without live records (caller holds its lock).</summary>
    private void DeleteIfDone(LogSegment segment)
    {
        if (!segment.Sealed || segment.Live > 0 || segment.Handle is null)
        {
            return;
        }

        segment.Handle.Dispose();
        segment.Handle = null;
        try
        {
            File.Delete(segment.Path);
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "spool: could not delete {Path}", segment.Path);
        }

        lock (_gate)
        {
            _segments.Remove(segment.Number);
        }
    }

    /// <summary>Lets the writer finish what is waiting, then seals the segment being written.</summary>
    public void Dispose()
    {
        Thread? writer;
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            writer = _writer;
            Monitor.PulseAll(_gate);
        }

        writer?.Join();
        if (_head is not null)
        {
            Seal(_head);
        }

        foreach (var segment in Segments())
        {
            lock (segment)
            {
                segment.Handle?.Dispose();
                segment.Handle = null;
            }
        }
    }

    /// <summary>A new record (metadata and body) or a copy of an existing one.</summary>
    private sealed class LogAppend(byte[]? metadata, IncomingMessage? body, LogLocation? record)
    {
        public byte[]? Metadata { get; } = metadata;

        public IncomingMessage? Body { get; } = body;

        public LogLocation? Record { get; } = record;

        public TaskCompletionSource<LogLocation> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>One segment file; its fields change under its own lock.</summary>
internal sealed class LogSegment(long number, string path)
{
    public long Number { get; } = number;

    public string Path { get; } = path;

    /// <summary>Read-write handle while the segment exists (appends to the head, removal marks anywhere).</summary>
    public SafeFileHandle? Handle { get; set; }

    public long Length { get; set; }

    public int Live { get; set; }

    /// <summary>Octets of the live records (headers, metadata and bodies).</summary>
    public long LiveBytes { get; set; }

    public bool Sealed { get; set; }

    /// <summary><see cref="Environment.TickCount64"/> when this process sealed or adopted the segment.</summary>
    public long SealedAt { get; set; }
}

/// <summary>Where a message's record lies: its header's offset, and its body's.</summary>
internal sealed record LogLocation(LogSegment Segment, long Offset, long BodyOffset, long BodyLength)
{
    /// <summary>The whole record's octets.</summary>
    public long Length => BodyOffset + BodyLength - Offset;
}

/// <summary>A live record as read; <paramref name="Damage"/> says what is wrong with one that cannot be used.</summary>
internal readonly record struct ScannedRecord(long Offset, byte[] Metadata, long BodyOffset, long BodyLength, string? Damage = null);

/// <summary>
/// How far a segment reads well (<paramref name="GoodLength"/>), whether the file ends in a seal (so every record in
/// it was durable: a problem is damage, not a torn write), what stopped the reading early, and whether the good part
/// ends in a seal.
/// </summary>
internal readonly record struct SegmentScan(long GoodLength, bool Sealed, string? Problem, bool EndsInSeal = false);
