using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Beacon.Spool;

/// <summary>
/// The durable spool. Layout under data_dir/spool:
///   queue/{id}.eml          the body, stored once per message, with Beacon's Received header, written there while
///                           it is received; at the commit its metadata (<see cref="SpooledMessage"/>) is appended to
///                           it as a trailer: [JSON][u32 length][u32 CRC-32 of the JSON][the spool's 8-byte key]. The
///                           trailer's presence, durable, is the commit point: a body without one was never acknowledged.
///   queue/{id}.json         the metadata once it changes (recipient states after a delivery attempt); it supersedes
///                           the trailer, and rewriting it never touches the body
///   incoming/               temporary files of delivery (large rendered copies); emptied on start
///   quarantine/             entries that failed to read back, kept for an operator, never deleted silently
///   key                     8 random bytes that end every trailer: content a client sent can't pass for one
/// Commit: append the trailer, fsync the body, fsync queue/ (the body's directory entry). Only then does SMTP say 250:
/// one file created and one fsync of it per message. (Earlier layouts wrote the metadata to a file of its own, renamed
/// into place: one more create, fsync and rename; messages spooled that way are still read.) A group commit that
/// shared the directory fsync between sessions was measured against this and was not faster here: docs/performance.md.
/// </summary>
public sealed class SpoolStore
{
    private readonly ILogger _logger;

    public SpoolStore(string dataDir, ILogger logger)
    {
        _logger = logger;
        Root = Path.GetFullPath(Path.Combine(dataDir, "spool"));
        IncomingDir = Path.Combine(Root, "incoming");
        QueueDir = Path.Combine(Root, "queue");
        QuarantineDir = Path.Combine(Root, "quarantine");
        Directory.CreateDirectory(IncomingDir);
        Directory.CreateDirectory(QueueDir);
        Directory.CreateDirectory(QuarantineDir);
        _key = LoadKey(Path.Combine(Root, "key"));
    }

    private const int TrailerFixed = 16; // length, CRC-32, key

    private readonly byte[] _key;
    private int _receiving;

    public string Root { get; }

    public string IncomingDir { get; }

    public string QueueDir { get; }

    public string QuarantineDir { get; }

    /// <summary>Recovery logs its progress every this many messages (and at least once a second).</summary>
    public int RecoveryProgressEvery { get; init; } = 10_000;

    public IncomingMessage Begin(string messageId, string transmissionId, long sizeLimit)
    {
        var incoming = new IncomingMessage(messageId, transmissionId, BodyPath(messageId), sizeLimit);
        Interlocked.Increment(ref _receiving);
        return incoming;
    }

    /// <summary>Makes the message durable. When this returns, the message survives kill -9 and power loss.</summary>
    public async Task CommitAsync(IncomingMessage incoming, SpooledMessage message)
    {
        try
        {
            await Task.Run(() =>
            {
                AppendTrailer(incoming, message);
                incoming.FlushToDisk();
                incoming.Dispose();
                DurableFile.SyncDirectory(QueueDir);
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The client will hear 451 and send again: no trace of this attempt may stay queued.
            incoming.Dispose();
            TryDelete(BodyPath(message.MessageId));
            throw;
        }
        finally
        {
            Finish(incoming);
        }
    }

    /// <summary>
    /// Commits a message Beacon made itself (a delivery status notification) through the same durable path as a
    /// received one: incoming/ → fsync → rename. <paramref name="message"/>'s Size must be <paramref name="body"/>'s length.
    /// </summary>
    public async Task CommitAsync(SpooledMessage message, ReadOnlyMemory<byte> body)
    {
        var incoming = Begin(message.MessageId, message.TransmissionId, long.MaxValue);
        try
        {
            incoming.WriteHeader(body.Span);
            await CommitAsync(incoming, message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Abort(incoming);
            throw;
        }
    }

    /// <summary>Drops a body that will not be acknowledged.</summary>
    public void Abort(IncomingMessage incoming)
    {
        incoming.Dispose();
        TryDelete(incoming.BodyPath);
        Finish(incoming);
    }

    /// <summary>A body is no longer being received (committed or dropped); once per body, whichever path comes first.</summary>
    private void Finish(IncomingMessage incoming)
    {
        if (incoming.MarkFinished())
        {
            Interlocked.Decrement(ref _receiving);
        }
    }

    /// <summary>Rewrites a message's metadata (recipient states) without touching its body.</summary>
    public void Update(SpooledMessage message) =>
        DurableFile.WriteAtomically(MetaPath(message.MessageId), JsonSerializer.SerializeToUtf8Bytes(message, SpooledMessage.Json));

    /// <summary>
    /// Removes a message whose every recipient has reached a final state. Not synced: a crash before the
    /// removal reaches the disk brings the message back, and its unfinished-looking recipients are delivered again
    /// (delivery is at-least-once; the metadata is updated before this when that matters). The body goes first: a
    /// metadata file left without a body is a removal cut short, and the next start deletes it.
    /// </summary>
    public void Remove(string messageId)
    {
        TryDelete(BodyPath(messageId));
        TryDelete(MetaPath(messageId));
    }

    /// <summary>
    /// Brings the spool back to a consistent state after any stop, clean or not, and returns the messages
    /// still waiting. Bodies without metadata were never acknowledged and are removed; unreadable entries go
    /// to quarantine with a log line.
    /// </summary>
    public IReadOnlyList<SpooledMessage> Recover()
    {
        foreach (var leftover in Directory.EnumerateFiles(IncomingDir))
        {
            _logger.LogInformation("spool: removing {File}, a message whose transaction never completed", Path.GetFileName(leftover));
            TryDelete(leftover);
        }

        foreach (var temporary in Directory.EnumerateFiles(QueueDir, "*.tmp").Concat(Directory.EnumerateFiles(QueueDir, "*.new")))
        {
            TryDelete(temporary);
        }

        foreach (var meta in Directory.EnumerateFiles(QueueDir, "*.json"))
        {
            if (!File.Exists(Path.ChangeExtension(meta, ".eml")))
            {
                TryDelete(meta); // a removal cut short between the body and its metadata
            }
        }

        var messages = new List<SpooledMessage>();
        var bodies = Directory.GetFiles(QueueDir, "*.eml");
        Array.Sort(bodies, StringComparer.Ordinal);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var lastReport = started;
        var quarantined = 0;
        for (var i = 0; i < bodies.Length; i++)
        {
            var id = Path.GetFileNameWithoutExtension(bodies[i]);
            var problem = Check(id, out var message);
            if (message is not null && problem is null)
            {
                messages.Add(message);
            }
            else if (problem is null)
            {
                _logger.LogInformation("spool: removing {File}, a body whose commit was interrupted before it was acknowledged", Path.GetFileName(bodies[i]));
                TryDelete(bodies[i]);
            }
            else
            {
                _logger.LogError("spool: message {Id} moved to quarantine: {Problem}", id, problem);
                Quarantine(id);
                quarantined++;
            }

            // A large spool takes a while to read back: say how far it got, so a slow start is not taken for a hang.
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (i + 1 < bodies.Length && ((i + 1) % RecoveryProgressEvery == 0 || System.Diagnostics.Stopwatch.GetElapsedTime(lastReport, now) >= TimeSpan.FromSeconds(1)))
            {
                lastReport = now;
                _logger.LogInformation("spool: recovering, {Done}/{Total} messages read ({Percent:0}%), {Quarantined} quarantined",
                    i + 1, bodies.Length, 100.0 * (i + 1) / bodies.Length, quarantined);
            }
        }

        if (bodies.Length > 0)
        {
            _logger.LogInformation("spool: recovered {Count} of {Total} messages in {Elapsed:0.0} s, {Quarantined} quarantined",
                messages.Count, messages.Count + quarantined, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, quarantined);
        }

        DurableFile.SyncDirectory(QueueDir);
        return messages;
    }

    /// <summary>Messages in the queue directory: a directory listing, no file is read. Bodies this process is still
    /// receiving are not counted; another process's (a CLI beside a running Beacon) are.</summary>
    public int Count() => Math.Max(0, Directory.EnumerateFiles(QueueDir, "*.eml").Count() - Volatile.Read(ref _receiving));

    /// <summary>Every queued message's metadata, oldest first (ids are time-ordered).</summary>
    public IEnumerable<SpooledMessage> List()
    {
        foreach (var body in Directory.EnumerateFiles(QueueDir, "*.eml").Order(StringComparer.Ordinal))
        {
            if (TryRead(Path.GetFileNameWithoutExtension(body)) is { } message)
            {
                yield return message;
            }
        }
    }

    /// <summary>A message's metadata (its latest: the metadata file if there is one, else the body's trailer), or
    /// null when it is not there, not committed (yet), or unreadable.</summary>
    public SpooledMessage? TryRead(string messageId)
    {
        try
        {
            return Read(messageId, out _);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The body (Received header included, trailer excluded): <paramref name="message"/>.Size octets, seekable.</summary>
    public Stream OpenBody(SpooledMessage message) =>
        new BoundedStream(new FileStream(BodyPath(message.MessageId), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024), message.Size);

    internal string BodyPath(string messageId) => Path.Combine(QueueDir, messageId + ".eml");

    private string MetaPath(string messageId) => Path.Combine(QueueDir, messageId + ".json");

    /// <summary>
    /// The metadata and the body file's length; null when the body has no trailer and no metadata file (never
    /// committed). Throws <see cref="InvalidDataException"/> or <see cref="JsonException"/> for a damaged entry.
    /// </summary>
    private SpooledMessage? Read(string id, out long fileLength)
    {
        using var body = new FileStream(BodyPath(id), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        fileLength = body.Length;
        var meta = MetaPath(id);
        if (!File.Exists(meta))
        {
            return ReadTrailer(body);
        }

        return JsonSerializer.Deserialize<SpooledMessage>(File.ReadAllBytes(meta), SpooledMessage.Json)
            ?? throw new InvalidDataException("metadata file is empty");
    }

    private SpooledMessage? ReadTrailer(FileStream body)
    {
        Span<byte> tail = stackalloc byte[TrailerFixed];
        if (body.Length < TrailerFixed)
        {
            return null;
        }

        body.Position = body.Length - TrailerFixed;
        body.ReadExactly(tail);
        if (!tail[8..].SequenceEqual(_key))
        {
            return null; // no trailer: the commit never happened
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        if (length > body.Length - TrailerFixed)
        {
            throw new InvalidDataException("metadata trailer is longer than the file");
        }

        var json = new byte[length];
        body.Position = body.Length - TrailerFixed - length;
        body.ReadExactly(json);
        if (Crc32.HashToUInt32(json) != BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]))
        {
            throw new InvalidDataException("metadata trailer fails its checksum");
        }

        return JsonSerializer.Deserialize<SpooledMessage>(json, SpooledMessage.Json) ?? throw new InvalidDataException("metadata trailer is empty");
    }

    /// <summary>Appends the commit's trailer: the metadata, then its length, CRC-32 and the spool's key.</summary>
    private void AppendTrailer(IncomingMessage incoming, SpooledMessage message)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(message, SpooledMessage.Json);
        Span<byte> fixedPart = stackalloc byte[TrailerFixed];
        BinaryPrimitives.WriteUInt32LittleEndian(fixedPart, (uint)json.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(fixedPart[4..], Crc32.HashToUInt32(json));
        _key.CopyTo(fixedPart[8..]);
        incoming.Append(json);
        incoming.Append(fixedPart);
    }

    /// <summary>Null and no problem: never committed. A problem: quarantine.</summary>
    private string? Check(string id, out SpooledMessage? message)
    {
        long length;
        try
        {
            message = Read(id, out length);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            message = null;
            return $"metadata is not valid: {e.Message}";
        }

        if (message is null)
        {
            return null;
        }

        if (message.MessageId != id || message.Recipients.Count == 0)
        {
            return "metadata is incomplete";
        }

        if (message.Version > SpooledMessage.CurrentVersion)
        {
            return $"metadata version {message.Version} is newer than this Beacon understands";
        }

        // The body is Size octets, followed by its trailer (or, spooled by an earlier layout, by nothing).
        return length < message.Size ? $"body is {length} octets, metadata says {message.Size}" : null;
    }

    private static byte[] LoadKey(string path)
    {
        if (!File.Exists(path))
        {
            try
            {
                DurableFile.WriteAtomically(path, RandomNumberGenerator.GetBytes(8), createOnly: true);
            }
            catch (IOException) when (File.Exists(path))
            {
                // another process (a CLI verb beside a starting Beacon) made it first
            }
        }

        var key = File.ReadAllBytes(path);
        return key.Length == 8 ? key : throw new InvalidDataException($"{path} is not an 8-byte spool key");
    }

    private void Quarantine(string id)
    {
        foreach (var path in new[] { MetaPath(id), BodyPath(id) })
        {
            if (File.Exists(path))
            {
                File.Move(path, Path.Combine(QuarantineDir, Path.GetFileName(path)), overwrite: true);
            }
        }
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
}
