using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Beacon.Spool;

/// <summary>
/// The durable spool. Layout under data_dir/spool:
///   queue/{id}.eml          the body, stored once per message, with Beacon's Received header; written there
///                           while it is received (a body without metadata was never acknowledged)
///   queue/{id}.json         the metadata (<see cref="SpooledMessage"/>); its presence is the commit point
///   incoming/               temporary files of delivery (large rendered copies); emptied on start
///   quarantine/             entries that failed to read back, kept for an operator, never deleted silently
/// Commit: fsync the body, write and fsync the metadata, rename it into place, fsync queue/. Only then does SMTP
/// say 250. (The body is received in place rather than renamed in: one directory operation less per message.) (A group commit that shared the directory fsync between sessions was
/// measured against this and was not faster here: docs/performance.md.)
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
    }

    public string Root { get; }

    public string IncomingDir { get; }

    public string QueueDir { get; }

    public string QuarantineDir { get; }

    /// <summary>Recovery logs its progress every this many messages (and at least once a second).</summary>
    public int RecoveryProgressEvery { get; init; } = 10_000;

    public IncomingMessage Begin(string messageId, string transmissionId, long sizeLimit) =>
        new(messageId, transmissionId, BodyPath(messageId), sizeLimit);

    /// <summary>Makes the message durable. When this returns, the message survives kill -9 and power loss.</summary>
    public async Task CommitAsync(IncomingMessage incoming, SpooledMessage message)
    {
        var body = BodyPath(message.MessageId);
        var meta = MetaPath(message.MessageId);
        try
        {
            await Task.Run(() =>
            {
                incoming.FlushToDisk();
                incoming.Dispose();
                var json = JsonSerializer.SerializeToUtf8Bytes(message, SpooledMessage.Json);
                using (var stream = new FileStream(meta + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, 4096))
                {
                    stream.Write(json);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(meta + ".tmp", meta);
                DurableFile.SyncDirectory(QueueDir);
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The client will hear 451 and send again: no trace of this attempt may stay queued.
            foreach (var path in new[] { meta, meta + ".tmp", body })
            {
                TryDelete(path);
            }

            throw;
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
    }

    /// <summary>Rewrites a message's metadata (recipient states) without touching its body.</summary>
    public void Update(SpooledMessage message) =>
        DurableFile.WriteAtomically(MetaPath(message.MessageId), JsonSerializer.SerializeToUtf8Bytes(message, SpooledMessage.Json));

    /// <summary>
    /// Removes a message whose every recipient has reached a final state. Not synced: a crash before the
    /// removal reaches the disk brings the message back, and its unfinished-looking recipients are delivered again
    /// (delivery is at-least-once; the metadata is updated before this when that matters).
    /// </summary>
    public void Remove(string messageId)
    {
        TryDelete(MetaPath(messageId));
        TryDelete(BodyPath(messageId));
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

        var messages = new List<SpooledMessage>();
        var metadata = Directory.GetFiles(QueueDir, "*.json");
        Array.Sort(metadata, StringComparer.Ordinal);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var lastReport = started;
        var quarantined = 0;
        for (var i = 0; i < metadata.Length; i++)
        {
            var id = Path.GetFileNameWithoutExtension(metadata[i]);
            var problem = Check(id, out var message);
            if (problem is null)
            {
                messages.Add(message!);
            }
            else
            {
                _logger.LogError("spool: message {Id} moved to quarantine: {Problem}", id, problem);
                Quarantine(id);
                quarantined++;
            }

            // A large spool takes a while to read back: say how far it got, so a slow start is not taken for a hang.
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (i + 1 < metadata.Length && ((i + 1) % RecoveryProgressEvery == 0 || System.Diagnostics.Stopwatch.GetElapsedTime(lastReport, now) >= TimeSpan.FromSeconds(1)))
            {
                lastReport = now;
                _logger.LogInformation("spool: recovering, {Done}/{Total} messages read ({Percent:0}%), {Quarantined} quarantined",
                    i + 1, metadata.Length, 100.0 * (i + 1) / metadata.Length, quarantined);
            }
        }

        if (metadata.Length > 0)
        {
            _logger.LogInformation("spool: recovered {Count} of {Total} messages in {Elapsed:0.0} s, {Quarantined} quarantined",
                messages.Count, metadata.Length, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, quarantined);
        }

        foreach (var body in Directory.EnumerateFiles(QueueDir, "*.eml"))
        {
            if (!File.Exists(Path.ChangeExtension(body, ".json")))
            {
                _logger.LogInformation("spool: removing {File}, a body whose commit was interrupted before it was acknowledged", Path.GetFileName(body));
                TryDelete(body);
            }
        }

        DurableFile.SyncDirectory(QueueDir);
        return messages;
    }

    /// <summary>Messages in the queue directory (one metadata file each); a directory listing, no file is read.</summary>
    public int Count() => Directory.EnumerateFiles(QueueDir, "*.json").Count();

    /// <summary>Every queued message's metadata, oldest first (ids are time-ordered).</summary>
    public IEnumerable<SpooledMessage> List()
    {
        foreach (var meta in Directory.EnumerateFiles(QueueDir, "*.json").Order(StringComparer.Ordinal))
        {
            if (TryRead(Path.GetFileNameWithoutExtension(meta)) is { } message)
            {
                yield return message;
            }
        }
    }

    public SpooledMessage? TryRead(string messageId)
    {
        try
        {
            return JsonSerializer.Deserialize<SpooledMessage>(File.ReadAllBytes(MetaPath(messageId)), SpooledMessage.Json);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public Stream OpenBody(string messageId) =>
        new FileStream(BodyPath(messageId), FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024);

    public string BodyPath(string messageId) => Path.Combine(QueueDir, messageId + ".eml");

    private string MetaPath(string messageId) => Path.Combine(QueueDir, messageId + ".json");

    private string? Check(string id, out SpooledMessage? message)
    {
        message = null;
        try
        {
            message = JsonSerializer.Deserialize<SpooledMessage>(File.ReadAllBytes(MetaPath(id)), SpooledMessage.Json);
        }
        catch (JsonException e)
        {
            return $"metadata is not valid: {e.Message}";
        }

        if (message is null || message.MessageId != id || message.Recipients.Count == 0)
        {
            return "metadata is incomplete";
        }

        if (message.Version > SpooledMessage.CurrentVersion)
        {
            return $"metadata version {message.Version} is newer than this Beacon understands";
        }

        var body = new FileInfo(BodyPath(id));
        if (!body.Exists)
        {
            return "body file is missing";
        }

        return body.Length != message.Size ? $"body is {body.Length} octets, metadata says {message.Size}" : null;
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
