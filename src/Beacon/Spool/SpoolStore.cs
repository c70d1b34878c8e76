using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Beacon.Spool;

/// <summary>
/// The durable spool. Layout under data_dir/spool:
///   log/{n}.log             the message log (<see cref="SpoolLog"/>): each message once, as one record of its metadata
///                           (<see cref="SpooledMessage"/>) and its body (with Beacon's Received header), appended by a
///                           single writer that syncs each batch of commits once (a group commit) before any of them
///                           hears 250
///   meta/{id}.json          a message's metadata once it changes (recipient states after a delivery attempt); it
///                           supersedes the record's, and rewriting it never touches the body
///   incoming/               bodies too large to receive in memory, and temporary files of delivery; emptied on start
///   quarantine/             what failed to read back, kept for an operator, never deleted silently
///   queue/                  messages of earlier Beacon versions (one file per message), moved into the log on start
/// A removal marks the record dead in place; a log segment is deleted once nothing in it lives.
/// </summary>
public sealed class SpoolStore : IDisposable
{
    private readonly ILogger _logger;
    private readonly SpoolLog _log;
    private readonly ConcurrentDictionary<string, Entry> _index = new(StringComparer.Ordinal);
    private int _receiving;
    private volatile bool _indexed; // this process recovered or committed: the index is the truth, no need to read the log
    private Timer? _compaction;
    private int _compacting;

    public SpoolStore(string dataDir, ILogger logger)
    {
        _logger = logger;
        Root = Path.GetFullPath(Path.Combine(dataDir, "spool"));
        IncomingDir = Path.Combine(Root, "incoming");
        MetaDir = Path.Combine(Root, "meta");
        QuarantineDir = Path.Combine(Root, "quarantine");
        Directory.CreateDirectory(IncomingDir);
        Directory.CreateDirectory(MetaDir);
        Directory.CreateDirectory(QuarantineDir);
        _log = new SpoolLog(Path.Combine(Root, "log"), logger);
    }

    public string Root { get; }

    public string IncomingDir { get; }

    public string MetaDir { get; }

    public string QuarantineDir { get; }

    public string LogDir => _log.Directory;

    /// <summary>Recovery logs its progress every this many messages (and at least once a second).</summary>
    public int RecoveryProgressEvery { get; init; } = 10_000;

    /// <summary>Bodies being received right now (begun, neither committed nor dropped yet).</summary>
    public int Receiving => Volatile.Read(ref _receiving);

    public IncomingMessage Begin(string messageId, string transmissionId, long sizeLimit)
    {
        var incoming = new IncomingMessage(messageId, transmissionId, Path.Combine(IncomingDir, messageId + ".body"), sizeLimit);
        Interlocked.Increment(ref _receiving);
        return incoming;
    }

    /// <summary>Makes the message durable. When this returns, the message survives kill -9 and power loss.</summary>
    public async Task CommitAsync(IncomingMessage incoming, SpooledMessage message)
    {
        try
        {
            _indexed = true;
            var location = await _log.AppendAsync(JsonSerializer.SerializeToUtf8Bytes(message, SpooledMessage.Json), incoming).ConfigureAwait(false);
            _index[message.MessageId] = new Entry(location);
        }
        finally
        {
            Abort(incoming); // the log holds the body now, or the client hears 451 and sends again
        }
    }

    /// <summary>Commits a message Beacon made itself (a delivery status notification) through the same durable path as a
    /// received one. <paramref name="message"/>'s Size must be <paramref name="body"/>'s length.</summary>
    public async Task CommitAsync(SpooledMessage message, ReadOnlyMemory<byte> body)
    {
        var incoming = Begin(message.MessageId, message.TransmissionId, long.MaxValue);
        incoming.WriteHeader(body.Span);
        await CommitAsync(incoming, message).ConfigureAwait(false);
    }

    /// <summary>Drops a body that will not be acknowledged (or was just committed); safe to call more than once.</summary>
    public void Abort(IncomingMessage incoming)
    {
        if (incoming.Release())
        {
            Interlocked.Decrement(ref _receiving);
        }
    }

    /// <summary>Rewrites a message's metadata (recipient states) without touching its body.</summary>
    public void Update(SpooledMessage message)
    {
        DurableFile.WriteAtomically(MetaPath(message.MessageId), JsonSerializer.SerializeToUtf8Bytes(message, SpooledMessage.Json));
        if (_index.TryGetValue(message.MessageId, out var entry))
        {
            entry.HasMetaFile = true;
        }
    }

    /// <summary>
    /// Removes a message whose every recipient has reached a final state. Not synced: a crash before the
    /// removal reaches the disk brings the message back, and its unfinished-looking recipients are delivered again
    /// (delivery is at-least-once; the metadata is updated before this when that matters).
    /// </summary>
    public void Remove(string messageId)
    {
        if (!_index.TryRemove(messageId, out var entry))
        {
            return;
        }

        lock (entry)
        {
            entry.Removed = true;
            _log.Release(entry.Location);
        }

        if (entry.HasMetaFile)
        {
            TryDelete(MetaPath(messageId));
        }
    }

    /// <summary>True while the message is in the spool (committed, not removed).</summary>
    public bool Contains(string messageId) => Entries().ContainsKey(messageId);

    /// <summary>
    /// Brings the spool back to a consistent state after any stop, clean or not, and returns the messages
    /// still waiting. Records cut short by a crash were never acknowledged and are dropped; what cannot be read goes
    /// to quarantine with a log line. Messages of the earlier one-file-per-message layout move into the log.
    /// </summary>
    public IReadOnlyList<SpooledMessage> Recover()
    {
        if (_indexed)
        {
            throw new InvalidOperationException("the spool is recovered once, before anything is committed");
        }

        foreach (var leftover in Directory.EnumerateFiles(IncomingDir))
        {
            _logger.LogInformation("spool: removing {File}, a message whose transaction never completed", Path.GetFileName(leftover));
            TryDelete(leftover);
        }

        foreach (var temporary in Directory.EnumerateFiles(MetaDir, "*.tmp"))
        {
            TryDelete(temporary);
        }

        _indexed = true;
        var messages = new Dictionary<string, SpooledMessage>(StringComparer.Ordinal);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var lastReport = started;
        var (read, quarantined) = (0, 0);
        var segments = _log.SegmentFiles();
        for (var s = 0; s < segments.Length; s++)
        {
            var path = segments[s];
            var records = new List<ScannedRecord>();
            var scan = SpoolLog.Scan(path, records.Add);
            if (scan.Problem is not null && scan.Sealed)
            {
                // Every record of a sealed segment was durable: this is damage. Keep the whole file for an operator.
                var copy = Path.Combine(QuarantineDir, Path.GetFileName(path));
                File.Copy(path, copy, overwrite: true);
                _logger.LogError("spool: {Segment} is damaged ({Problem}); the messages before the damage are kept, the file as it was is in {Copy}",
                    Path.GetFileName(path), scan.Problem, copy);
            }
            else if (scan.Problem is not null)
            {
                _logger.LogInformation("spool: {Segment} ends in {Problem}: {Octets} octets of commits cut short by a stop, never acknowledged, dropped",
                    Path.GetFileName(path), scan.Problem, new FileInfo(path).Length - scan.GoodLength);
            }

            var segment = _log.Adopt(path, scan);
            foreach (var record in records)
            {
                var location = new LogLocation(segment, record.Offset, record.BodyOffset, record.BodyLength);
                SpoolLog.Track(location);
                if (record.Damage is not null)
                {
                    QuarantineRecord(location, record.Damage);
                    quarantined++;
                }
                else if (Admit(location, record.Metadata) is { } message)
                {
                    messages[message.MessageId] = message;
                }
                else
                {
                    quarantined++;
                }

                // A large spool takes a while to read back: say how far it got, so a slow start is not taken for a hang.
                read++;
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                if (read % RecoveryProgressEvery == 0 || System.Diagnostics.Stopwatch.GetElapsedTime(lastReport, now) >= TimeSpan.FromSeconds(1))
                {
                    lastReport = now;
                    _logger.LogInformation("spool: recovering, {Read} messages read, log segment {Segment}/{Segments}, {Quarantined} quarantined",
                        read, s + 1, segments.Length, quarantined);
                }
            }
        }

        foreach (var meta in Directory.EnumerateFiles(MetaDir, "*.json"))
        {
            if (!_index.ContainsKey(Path.GetFileNameWithoutExtension(meta)))
            {
                TryDelete(meta); // a removal cut short between the record and its metadata
            }
        }

        _log.DeleteUnused();
        foreach (var message in MigrateLegacy())
        {
            messages[message.MessageId] = message;
        }

        if (read > 0)
        {
            _logger.LogInformation("spool: recovered {Count} of {Total} messages in {Elapsed:0.0} s, {Quarantined} quarantined",
                messages.Count, messages.Count + quarantined, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, quarantined);
        }

        _compaction = new Timer(_ => CompactInBackground(), null, CompactionInterval, CompactionInterval);
        return [.. messages.Values.OrderBy(m => m.MessageId, StringComparer.Ordinal)];
    }

    /// <summary>Messages in the spool (this process's view: after <see cref="Recover"/>, or of what it committed).</summary>
    public int Count() => _index.Count;

    /// <summary>Octets of the log's segments (this process's view, as <see cref="Count"/>).</summary>
    public long LogSize() => _log.Size();

    /// <summary>Every queued message's metadata, oldest first (ids are time-ordered).</summary>
    public IEnumerable<SpooledMessage> List()
    {
        foreach (var (id, entry) in Entries().OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (TryRead(id, entry) is { } message)
            {
                yield return message;
            }
        }
    }

    /// <summary>A message's latest metadata, or null when it is not there or unreadable.</summary>
    public SpooledMessage? TryRead(string messageId) => Entries().TryGetValue(messageId, out var entry) ? TryRead(messageId, entry) : null;

    /// <summary>The body (Received header included): <paramref name="message"/>.Size octets, seekable.</summary>
    public Stream OpenBody(SpooledMessage message)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (!Entries().TryGetValue(message.MessageId, out var entry))
            {
                throw new FileNotFoundException($"message {message.MessageId} is not in the spool");
            }

            try
            {
                return SpoolLog.OpenBody(entry.Location);
            }
            catch (FileNotFoundException) when (attempt == 0)
            {
                // compaction moved the record and deleted its segment between the lookup and the open: look again
            }
        }
    }

    /// <summary>
    /// Copies the live messages of mostly dead log segments (<see cref="SpoolLog.CompactionCandidates"/>) to the
    /// end of the log and releases the old records, so that those segments are deleted. Returns the messages moved.
    /// Runs every <see cref="CompactionInterval"/> once the spool is recovered.
    /// </summary>
    public async Task<int> CompactAsync(TimeSpan age)
    {
        var moved = 0;
        foreach (var segment in _log.CompactionCandidates(age))
        {
            foreach (var entry in _index.Values)
            {
                LogLocation from;
                lock (entry)
                {
                    if (entry.Removed || entry.Location.Segment != segment)
                    {
                        continue;
                    }

                    from = entry.Location;
                }

                var to = await _log.CopyAsync(from).ConfigureAwait(false);
                lock (entry)
                {
                    if (entry.Removed)
                    {
                        _log.Release(to); // removed while being copied: the copy is dead too
                        continue;
                    }

                    entry.Location = to;
                    _log.Release(from);
                }

                moved++;
            }
        }

        return moved;
    }

    /// <summary>How often a running spool looks for log segments to compact, and how long a segment must have been sealed.</summary>
    public static readonly TimeSpan CompactionInterval = TimeSpan.FromMinutes(1);

    private void CompactInBackground()
    {
        if (Interlocked.Exchange(ref _compacting, 1) != 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var moved = await CompactAsync(CompactionInterval).ConfigureAwait(false);
                if (moved > 0)
                {
                    _logger.LogInformation("spool: compaction copied {Count} messages forward out of mostly finished log segments", moved);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                _logger.LogWarning(e, "spool: compaction stopped; it tries again in {Interval}", CompactionInterval);
            }
            finally
            {
                Volatile.Write(ref _compacting, 0);
            }
        });
    }

    /// <summary>Waits for the log's writer and seals the segment it was writing.</summary>
    public void Dispose()
    {
        _compaction?.Dispose();
        _log.Dispose();
    }

    private string MetaPath(string messageId) => Path.Combine(MetaDir, messageId + ".json");

    /// <summary>
    /// Where each message lies: this process's index, or, for a process that has neither recovered nor committed
    /// (a CLI verb beside a running Beacon), what the log on disk says right now, read without changing anything.
    /// </summary>
    private IReadOnlyDictionary<string, Entry> Entries()
    {
        if (_indexed)
        {
            return _index;
        }

        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var path in _log.SegmentFiles())
        {
            var segment = new LogSegment(0, path);
            try
            {
                SpoolLog.Scan(path, record =>
                {
                    if (record.Damage is null && Parse(record.Metadata) is { } message)
                    {
                        entries[message.MessageId] = new Entry(new LogLocation(segment, record.Offset, record.BodyOffset, record.BodyLength))
                        {
                            HasMetaFile = File.Exists(MetaPath(message.MessageId)),
                        };
                    }
                });
            }
            catch (FileNotFoundException)
            {
                // deleted by the running Beacon while this looked: nothing in it lived any more
            }
        }

        return entries;
    }

    private SpooledMessage? TryRead(string messageId, Entry entry)
    {
        try
        {
            return entry.HasMetaFile
                ? JsonSerializer.Deserialize<SpooledMessage>(File.ReadAllBytes(MetaPath(messageId)), SpooledMessage.Json)
                : Parse(SpoolLog.ReadMetadata(entry.Location));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static SpooledMessage? Parse(byte[] metadata)
    {
        try
        {
            return JsonSerializer.Deserialize<SpooledMessage>(metadata, SpooledMessage.Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Indexes a live record found on start and returns its latest metadata; null when it went to quarantine.</summary>
    private SpooledMessage? Admit(LogLocation location, byte[] metadata)
    {
        var message = Parse(metadata);
        var problem = message is null ? "its metadata is not valid JSON" : Problem(message);
        var meta = message is null ? null : MetaPath(message.MessageId);
        var hasMetaFile = meta is not null && File.Exists(meta);
        if (problem is null && hasMetaFile)
        {
            try
            {
                message = JsonSerializer.Deserialize<SpooledMessage>(File.ReadAllBytes(meta!), SpooledMessage.Json);
                problem = message is null ? "its metadata file is empty" : Problem(message);
            }
            catch (JsonException e)
            {
                problem = $"its metadata file is not valid: {e.Message}";
            }
        }

        var name = message?.MessageId ?? $"{Path.GetFileNameWithoutExtension(location.Segment.Path)}-{location.Offset}";
        if (problem is not null)
        {
            _logger.LogError("spool: message {Id} moved to quarantine: {Problem}", name, problem);
            using (var body = SpoolLog.OpenBody(location))
            using (var copy = File.Create(Path.Combine(QuarantineDir, name + ".eml")))
            {
                body.CopyTo(copy);
            }

            File.WriteAllBytes(Path.Combine(QuarantineDir, name + ".record.json"), metadata);
            if (hasMetaFile)
            {
                File.Move(meta!, Path.Combine(QuarantineDir, name + ".json"), overwrite: true);
            }

            _log.Release(location);
            return null;
        }

        if (_index.TryGetValue(message!.MessageId, out var earlier))
        {
            _log.Release(earlier.Location); // the same message twice (a copy cut short): the later record wins
        }

        _index[message.MessageId] = new Entry(location) { HasMetaFile = hasMetaFile };
        return message;

        string? Problem(SpooledMessage m) =>
            m.Recipients is not { Count: > 0 } || m.MessageId.Length == 0 ? "its metadata is incomplete"
            : m.Version > SpooledMessage.CurrentVersion ? $"its metadata version {m.Version} is newer than this Beacon understands"
            : m.Size != location.BodyLength ? $"its body is {location.BodyLength} octets, its metadata says {m.Size}"
            : null;
    }

    /// <summary>Copies a damaged record, as it is, to quarantine/{segment}-{offset}.record, and marks it dead.</summary>
    private void QuarantineRecord(LogLocation location, string damage)
    {
        var copy = Path.Combine(QuarantineDir, $"{Path.GetFileNameWithoutExtension(location.Segment.Path)}-{location.Offset}.record");
        _logger.LogError("spool: a record of {Segment} is damaged ({Damage}); it is kept in {Copy}, the records after it are read on",
            Path.GetFileName(location.Segment.Path), damage, copy);
        using (var source = new BoundedStream(new FileStream(location.Segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024), location.Offset, location.Length))
        using (var target = File.Create(copy))
        {
            source.CopyTo(target);
        }

        _log.Release(location);
    }

    /// <summary>Moves the messages of the one-file-per-message layout into the log, then deletes their files.</summary>
    private List<SpooledMessage> MigrateLegacy()
    {
        var queueDir = Path.Combine(Root, "queue");
        var legacy = LegacySpool.Read(queueDir, Path.Combine(Root, "key"), QuarantineDir, _logger);
        foreach (var (message, body) in legacy)
        {
            var incoming = Begin(message.MessageId, message.TransmissionId, long.MaxValue);
            using (var source = new FileStream(body, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024))
            {
                var chunk = new byte[64 * 1024];
                var left = message.Size;
                while (left > 0 && source.Read(chunk, 0, (int)Math.Min(chunk.Length, left)) is var read and > 0)
                {
                    incoming.WriteHeader(chunk.AsSpan(0, read));
                    left -= read;
                }
            }

            CommitAsync(incoming, message).GetAwaiter().GetResult();
            TryDelete(Path.ChangeExtension(body, ".json"));
            TryDelete(body);
        }

        if (Directory.Exists(queueDir) && !Directory.EnumerateFileSystemEntries(queueDir).Any())
        {
            Directory.Delete(queueDir);
        }

        if (legacy.Count > 0)
        {
            _logger.LogInformation("spool: moved {Count} messages of the earlier one-file-per-message layout into the log", legacy.Count);
        }

        return [.. legacy.Select(l => l.Message)];
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "spool: could not remove {Path}", path);
        }
    }

    /// <summary>Where a message's record lies, and whether a metadata file supersedes the record's.</summary>
    /// <summary>Location and Removed change under the entry's lock (removal against compaction).</summary>
    private sealed class Entry(LogLocation location)
    {
        public LogLocation Location { get; set; } = location;

        public bool HasMetaFile { get; set; }

        public bool Removed { get; set; }
    }
}
