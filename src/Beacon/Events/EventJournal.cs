using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Beacon.Spool;
using Microsoft.Extensions.Logging;

namespace Beacon.Events;

/// <summary>
/// The pipeline's write-ahead journal: data_dir/events/journal/, append-only segment files of event records, fsynced
/// once per batch. Appending a record costs a few microseconds; indexing it into the store (SQLite's B-trees, or
/// PostgreSQL) costs tens. The journal lets a burst — a campaign's opens and clicks, a flood of injections — be
/// taken at the rate it comes and stored at the rate the store can index, without dropping events and without the
/// store's work standing in the way of the answers (see <see cref="EventPipeline"/>).
/// <para>
/// A position is a byte offset into the journal as a whole: it only grows, across segments. Each segment is named
/// after the position of its first byte (16 hex digits) and is closed at 64 MiB. Records: <see cref="JournalRecord"/>; on open, the last segment is read through and cut
/// after its last whole record (a torn write of a crash). The journal's id (a random file "id") names the store's
/// cursor for it, so a journal that is replaced never takes over another's position.
/// </para>
/// </summary>
public sealed class EventJournal : IDisposable
{
    private const long DefaultSegmentLimit = 64L * 1024 * 1024;
    private const int HeaderSize = JournalRecord.HeaderSize;
    private const string Suffix = ".journal";

    private readonly string _directory;
    private readonly ILogger _logger;
    private readonly long _segmentLimit;
    private readonly JournalBuffer _buffer = new();
    private readonly Utf8JsonWriter _json;
    private FileStream _segment;
    private long _segmentStart;
    private long _end;

    // The reader's state: one sequential stream over the segment being read (the indexer is the only reader).
    private FileStream? _reading;
    private long _readingStart = -1;

    private EventJournal(string directory, string id, FileStream segment, long segmentStart, long segmentLimit, ILogger logger)
    {
        _segmentLimit = segmentLimit;
        _json = new Utf8JsonWriter(_buffer, BeaconEvent.JsonOptions);
        _directory = directory;
        Id = id;
        _segment = segment;
        _segmentStart = segmentStart;
        _end = segmentStart + segment.Length;
        _logger = logger;
    }

    /// <summary>Names the store's cursor for this journal.</summary>
    public string Id { get; }

    /// <summary>The position after the last record written and fsynced.</summary>
    public long End => Volatile.Read(ref _end);

    /// <summary>The position of the oldest record still kept (the start of the oldest segment).</summary>
    public long Start => Segments().FirstOrDefault(_segmentStart);

    /// <summary>Opens the journal in <paramref name="directory"/>, creating it if needed; segments close at
    /// <paramref name="segmentLimit"/> bytes (64 MiB; tests use less).</summary>
    public static EventJournal Open(string directory, ILogger logger, long segmentLimit = DefaultSegmentLimit)
    {
        Directory.CreateDirectory(directory);
        var idFile = Path.Combine(directory, "id");
        if (!File.Exists(idFile))
        {
            DurableFile.WriteAtomically(idFile, Encoding.ASCII.GetBytes(Guid.NewGuid().ToString("N")));
        }

        var id = File.ReadAllText(idFile).Trim();
        var starts = SegmentsIn(directory);
        var start = starts.Count > 0 ? starts[^1] : 0;
        var path = SegmentPath(directory, start);
        long whole;
        using (var scan = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite, 1 << 16))
        {
            whole = WholeLength(scan);
        }

        var stream = OpenForAppend(path, FileMode.OpenOrCreate);
        if (whole < stream.Length)
        {
            logger.LogWarning("events: journal segment {Segment} ends in a torn record after {Whole} of {Length} bytes (a crash during a write); cutting it there",
                Path.GetFileName(path), whole, stream.Length);
            stream.SetLength(whole);
            stream.Flush(flushToDisk: true);
        }

        stream.Seek(0, SeekOrigin.End);
        return new EventJournal(directory, id, stream, start, segmentLimit, logger);
    }

    /// <summary>Bytes added and not yet flushed.</summary>
    public int PendingBytes => _buffer.Length;

    /// <summary>Events added and not yet flushed.</summary>
    public int PendingCount { get; private set; }

    /// <summary>Writes the events and fsyncs them; returns the new <see cref="End"/>. One writer at a time.</summary>
    public long Append(IReadOnlyList<BeaconEvent> events)
    {
        foreach (var item in events)
        {
            Add(item);
        }

        return Flush();
    }

    /// <summary>Encodes an event into the pending bytes: it is durable, and readable, after the next <see cref="Flush"/>.</summary>
    public void Add(BeaconEvent item)
    {
        JournalRecord.Encode(item, _buffer, _json);
        PendingCount++;
    }

    /// <summary>
    /// Writes the pending bytes and fsyncs them; returns the new <see cref="End"/>. When this throws, the segment is
    /// cut back and the pending bytes are kept, so a retry writes them again whole.
    /// </summary>
    public long Flush()
    {
        if (_buffer.Length == 0)
        {
            return End;
        }

        var before = _segment.Length;
        try
        {
            _segment.Write(_buffer.Written);
            _segment.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            // Disk full or an I/O error part-way: cut the segment back, so the retry does not follow a torn record
            // (which would hide everything after it from the indexer).
            TryCut(before);
            throw;
        }

        _buffer.Clear();
        PendingCount = 0;
        var end = _segmentStart + _segment.Length;
        Volatile.Write(ref _end, end);
        if (_segment.Length >= _segmentLimit)
        {
            Rotate(end);
        }

        return end;
    }

    /// <summary>Starts the next segment at <paramref name="end"/>. If that fails, the current one grows past the
    /// limit and the next append tries again.</summary>
    private void Rotate(long end)
    {
        try
        {
            var next = OpenForAppend(SegmentPath(_directory, end), FileMode.CreateNew);
            DurableFile.SyncDirectory(_directory);
            _segment.Dispose();
            _segment = next;
            _segmentStart = end;
        }
        catch (IOException e)
        {
            _logger.LogError(e, "events: could not start a new journal segment at position {Position}; the current one goes on", end);
        }
    }

    private void TryCut(long length)
    {
        try
        {
            _segment.SetLength(length);
            _segment.Position = length;
        }
        catch (IOException e)
        {
            _logger.LogError(e, "events: could not cut the journal segment back to {Length} bytes after a failed write", length);
        }
    }

    /// <summary>Unbuffered: every flush is one whole batch of records, written and fsynced at once.</summary>
    private static FileStream OpenForAppend(string path, FileMode mode) =>
        new(path, mode, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);

    /// <summary>
    /// Reads whole records from <paramref name="position"/> up to <see cref="End"/>, at most <paramref name="max"/>,
    /// into <paramref name="records"/>; returns the position after the last one read. A segment that holds a
    /// damaged record (a disk error: the CRC does not match) is renamed *.damaged with an error in the log, and reading
    /// goes on with the next segment.
    /// </summary>
    public long Read(long position, int max, List<EventRecord> records)
    {
        var end = End;
        while (records.Count < max && position < end)
        {
            var start = SegmentOf(position);
            if (_reading is null || _readingStart != start)
            {
                _reading?.Dispose();
                _reading = new FileStream(SegmentPath(_directory, start), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
                _readingStart = start;
            }

            var segmentEnd = Math.Min(end, NextSegment(start) ?? end);
            if (position >= segmentEnd)
            {
                position = segmentEnd;
                continue;
            }

            _reading.Position = position - start;
            while (records.Count < max && position < segmentEnd)
            {
                var record = ReadRecord(_reading, segmentEnd - position);
                if (record is null)
                {
                    position = Quarantine(start, position);
                    break;
                }

                records.Add(record.Value.Record);
                position += record.Value.Length;
            }
        }

        return position;
    }

    /// <summary>Deletes the segments whose records all lie before <paramref name="position"/> (stored already).</summary>
    public void DeleteBefore(long position)
    {
        var starts = Segments();
        for (var i = 0; i + 1 < starts.Count && starts[i + 1] <= position; i++)
        {
            if (_readingStart == starts[i])
            {
                _reading?.Dispose();
                _reading = null;
                _readingStart = -1;
            }

            File.Delete(SegmentPath(_directory, starts[i]));
        }
    }

    public void Dispose()
    {
        _json.Dispose();
        _segment.Dispose();
        _reading?.Dispose();
    }

    /// <summary>The record at the stream's position, or null when it is incomplete or damaged.</summary>
    private static (EventRecord Record, int Length)? ReadRecord(Stream stream, long available)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        if (available < HeaderSize || stream.ReadAtLeast(header, HeaderSize, throwOnEndOfStream: false) < HeaderSize)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length > JournalRecord.MaxPayload || HeaderSize + length > available)
        {
            return null;
        }

        var payload = new byte[length];
        if (stream.ReadAtLeast(payload, (int)length, throwOnEndOfStream: false) < length || Crc32.HashToUInt32(payload) != BinaryPrimitives.ReadUInt32LittleEndian(header[4..]))
        {
            return null;
        }

        return JournalRecord.Decode(payload) is { } record ? (record, HeaderSize + (int)length) : null;
    }

    /// <summary>The length of the segment's leading run of whole, intact records.</summary>
    private static long WholeLength(FileStream stream)
    {
        long whole = 0;
        stream.Position = 0;
        while (ReadRecord(stream, stream.Length - whole) is { } record)
        {
            whole += record.Length;
        }

        return whole;
    }

    private long Quarantine(long start, long position)
    {
        var next = NextSegment(start);
        if (next is null)
        {
            // The segment being written: a damaged record here means the disk lies; nothing after it can be trusted
            // either, and the writer keeps appending after it. Skip to what is written later.
            _logger.LogError("events: journal record at position {Position} in the current segment is damaged; skipping to the end", position);
            return End;
        }

        _reading?.Dispose();
        _reading = null;
        _readingStart = -1;
        var path = SegmentPath(_directory, start);
        File.Move(path, Path.ChangeExtension(path, ".damaged"), overwrite: true);
        _logger.LogError("events: journal segment {Segment} has a damaged record at position {Position}; the events after it in that segment are not stored. The segment is kept as {Damaged}",
            Path.GetFileName(path), position, Path.GetFileName(Path.ChangeExtension(path, ".damaged")));
        return next.Value;
    }

    private long SegmentOf(long position) => Segments().LastOrDefault(s => s <= position, _segmentStart);

    private long? NextSegment(long start) => Segments().Where(s => s > start).Select(s => (long?)s).FirstOrDefault();

    private List<long> Segments() => SegmentsIn(_directory);

    private static List<long> SegmentsIn(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*" + Suffix)
            .Select(path => long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start) ? start : -1)
            .Where(start => start >= 0)
            .Order()];

    private static string SegmentPath(string directory, long start) =>
        Path.Combine(directory, start.ToString("x16", CultureInfo.InvariantCulture) + Suffix);
}
