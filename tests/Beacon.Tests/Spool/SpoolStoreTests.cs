using System.Buffers;
using System.Text;
using Beacon.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Tests.Spool;

public sealed class SpoolStoreTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("beacon-spool-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    [Fact]
    public async Task A_committed_message_reads_back_with_its_exact_body()
    {
        using var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        var body = "Subject: hi\r\n\r\nhello\r\n"u8.ToArray();
        await CommitAsync(spool, "00000000000000000001", body);

        var message = Assert.Single(spool.List());
        Assert.Equal(body, SpoolBody.Read(spool, message));
        Assert.Equal("rcpt@example.com", Assert.Single(message.Recipients).Address);
        Assert.Single(Names(spool.LogDir)); // no file of its own: a record in the log
        Assert.Empty(Names(spool.MetaDir));
        Assert.Equal(1, spool.Count());
        spool.Dispose();
        using var restarted = new SpoolStore(_dataDir, NullLogger.Instance);
        Assert.Equal(body, SpoolBody.Read(restarted, Assert.Single(restarted.Recover())));
    }

    [Fact]
    public async Task Recovery_reports_its_progress_and_a_summary()
    {
        using (var spool = new SpoolStore(_dataDir, NullLogger.Instance))
        {
            for (var i = 0; i < 5; i++)
            {
                await CommitAsync(spool, $"0000000000000000002{i}", "hello\r\n"u8.ToArray());
            }
        }

        var log = new LineLogger();
        using var restarted = new SpoolStore(_dataDir, log) { RecoveryProgressEvery = 2 };
        var recovered = restarted.Recover();

        Assert.Equal(5, recovered.Count);
        Assert.Contains("spool: recovering, 2 messages read, log segment 1/1, 0 quarantined", log.Lines);
        Assert.Contains("spool: recovering, 4 messages read, log segment 1/1, 0 quarantined", log.Lines);
        Assert.Matches("^spool: recovered 5 of 5 messages in [0-9.]+ s, 0 quarantined$", log.Lines[^1]);
    }

    [Fact]
    public void Writes_past_the_limit_mark_the_message_oversized_and_stop_writing()
    {
        using var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        using var incoming = spool.Begin("00000000000000000002", "2", sizeLimit: 10);
        incoming.WriteHeader("Received: x\r\n"u8);
        incoming.Write(new ReadOnlySequence<byte>(new byte[8]));
        incoming.Write(new ReadOnlySequence<byte>(new byte[8]));
        Assert.True(incoming.Oversized);
        Assert.Equal(13 + 8, incoming.Length);
    }

    [Fact]
    public async Task Recovery_removes_unacknowledged_leftovers_and_quarantines_what_it_cannot_read()
    {
        using (var spool = new SpoolStore(_dataDir, NullLogger.Instance))
        {
            await CommitAsync(spool, "00000000000000000010", "good\r\n"u8.ToArray());
            var updated = await CommitAsync(spool, "00000000000000000017", "state changed since\r\n"u8.ToArray());
            spool.Update(updated with { Recipients = [updated.Recipients[0] with { Attempts = 2 }] });
            await CommitAsync(spool, "00000000000000000012", "meta corrupted later\r\n"u8.ToArray());
            var removed = await CommitAsync(spool, "00000000000000000019", "delivered, removed\r\n"u8.ToArray());
            spool.Update(removed);
            spool.Remove(removed.MessageId);
            File.WriteAllText(Path.Combine(spool.IncomingDir, "00000000000000000013.body"), "half a DATA that spilled to disk");
            File.WriteAllText(Path.Combine(spool.IncomingDir, "00000000000000000013.eml.copy"), "a rendered copy");
            File.WriteAllText(Path.Combine(spool.MetaDir, "00000000000000000015.json.tmp"), "{");
            File.WriteAllText(Path.Combine(spool.MetaDir, "00000000000000000018.json"), "{}"); // a removal cut short: no record
            File.WriteAllText(Path.Combine(spool.MetaDir, "00000000000000000012.json"), "{ not json");
        }

        using var restarted = new SpoolStore(_dataDir, NullLogger.Instance);
        var recovered = restarted.Recover();

        Assert.Equal(["00000000000000000010", "00000000000000000017"], recovered.Select(m => m.MessageId));
        Assert.Equal(2, recovered[1].Recipients[0].Attempts);
        Assert.Empty(Names(restarted.IncomingDir));
        Assert.Equal(["00000000000000000017.json"], Names(restarted.MetaDir));
        Assert.Equal(["00000000000000000012.eml", "00000000000000000012.json", "00000000000000000012.record.json"], Names(restarted.QuarantineDir));
        Assert.Equal("meta corrupted later\r\n", File.ReadAllText(Path.Combine(restarted.QuarantineDir, "00000000000000000012.eml")));
        using var again = new SpoolStore(_dataDir, NullLogger.Instance);
        Assert.Equal(2, again.Recover().Count); // the quarantined record is dead in the log: not quarantined twice
        Assert.Equal(3, Names(again.QuarantineDir).Length);
    }

    [Fact]
    public void Messages_spooled_by_the_earlier_layout_a_body_and_a_metadata_file_move_into_the_log()
    {
        var queue = Directory.CreateDirectory(Path.Combine(_dataDir, "spool", "queue")).FullName;
        foreach (var (id, body, size) in new[] { ("00000000000000000030", "whole\r\n", 7L), ("00000000000000000031", "trunc", 40L) })
        {
            File.WriteAllText(Path.Combine(queue, id + ".eml"), body);
            File.WriteAllText(Path.Combine(queue, id + ".json"), $$"""
                {"version":1,"message_id":"{{id}}","transmission_id":"1","received_at":"2026-11-27T00:00:00+00:00","mail_from":"a@example.org",
                 "size":{{size}},"listener":"default","remote_ip":"127.0.0.1","recipients":[{"address":"b@example.com"}]}
                """);
        }

        using (var spool = new SpoolStore(_dataDir, NullLogger.Instance))
        {
            var message = Assert.Single(spool.Recover());
            Assert.Equal("whole\r\n"u8.ToArray(), SpoolBody.Read(spool, message));
            Assert.Equal(["00000000000000000031.eml", "00000000000000000031.json"], Names(spool.QuarantineDir));
            Assert.False(Directory.Exists(queue));
        }

        using var restarted = new SpoolStore(_dataDir, NullLogger.Instance);
        Assert.Equal("whole\r\n"u8.ToArray(), SpoolBody.Read(restarted, Assert.Single(restarted.Recover())));
    }

    [Fact]
    public async Task A_body_that_holds_a_whole_log_record_is_not_taken_for_one()
    {
        // A client's content that contains a valid record of a message of its own making: the log is read record by
        // record by length, never searched, so the forged record stays part of the body it came in.
        byte[] forged;
        using (var scratch = new SpoolStore(Path.Combine(_dataDir, "scratch"), NullLogger.Instance))
        {
            await CommitAsync(scratch, "00000000000000000041", "forged\r\n"u8.ToArray());
            scratch.Dispose();
            forged = File.ReadAllBytes(Assert.Single(Directory.GetFiles(scratch.LogDir)));
        }

        using (var spool = new SpoolStore(_dataDir, NullLogger.Instance))
        {
            await CommitAsync(spool, "00000000000000000040", forged);
        }

        using var restarted = new SpoolStore(_dataDir, NullLogger.Instance);
        var message = Assert.Single(restarted.Recover());
        Assert.Equal("00000000000000000040", message.MessageId);
        Assert.Equal(forged, SpoolBody.Read(restarted, message));
        Assert.Empty(Names(restarted.QuarantineDir));
    }

    [Fact]
    public async Task Update_rewrites_only_the_metadata()
    {
        using var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        var message = await CommitAsync(spool, "00000000000000000020", "body\r\n"u8.ToArray());
        var segment = Assert.Single(Directory.GetFiles(spool.LogDir));
        var before = File.ReadAllBytes(segment);
        spool.Update(message with { Recipients = [message.Recipients[0] with { State = RecipientState.Delivered }] });

        Assert.Equal(RecipientState.Delivered, spool.TryRead(message.MessageId)!.Recipients[0].State);
        Assert.Equal(before, File.ReadAllBytes(segment));
        Assert.Equal(["00000000000000000020.json"], Names(spool.MetaDir));
        Assert.Equal("body\r\n"u8.ToArray(), SpoolBody.Read(spool, spool.TryRead(message.MessageId)!));
    }

    [Fact]
    public async Task Compaction_copies_the_last_live_messages_forward_and_deletes_their_old_segment()
    {
        var bodies = Enumerable.Range(0, 4).Select(i => Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\n{new string('x', 1000)}\r\n")).ToArray();
        using (var spool = new SpoolStore(_dataDir, NullLogger.Instance))
        {
            for (var i = 0; i < 4; i++)
            {
                await CommitAsync(spool, $"0000000000000000005{i}", bodies[i]);
            }
        }

        string old;
        using (var spool = new SpoolStore(_dataDir, NullLogger.Instance))
        {
            var recovered = spool.Recover();
            old = Assert.Single(Directory.GetFiles(spool.LogDir));
            spool.Remove(recovered[0].MessageId);
            spool.Remove(recovered[1].MessageId);
            Assert.Equal(0, await spool.CompactAsync(TimeSpan.Zero)); // half of it still lives: not yet worth a copy
            spool.Remove(recovered[2].MessageId);
            spool.Update(recovered[3] with { Recipients = [recovered[3].Recipients[0] with { Attempts = 5 }] });

            Assert.Equal(1, await spool.CompactAsync(TimeSpan.Zero));
            Assert.False(File.Exists(old));
            Assert.Equal(bodies[3], SpoolBody.Read(spool, spool.TryRead(recovered[3].MessageId)!));
        }

        using var restarted = new SpoolStore(_dataDir, NullLogger.Instance);
        var message = Assert.Single(restarted.Recover());
        Assert.Equal(5, message.Recipients[0].Attempts);
        Assert.Equal(bodies[3], SpoolBody.Read(restarted, message));
        Assert.DoesNotContain(old, Directory.GetFiles(restarted.LogDir));
    }

    [Fact]
    public async Task A_message_found_twice_after_a_compaction_cut_short_comes_back_once_from_its_later_copy()
    {
        string first;
        using (var spool = new SpoolStore(_dataDir, NullLogger.Instance))
        {
            await CommitAsync(spool, "00000000000000000060", "moved\r\n"u8.ToArray());
            first = Assert.Single(Directory.GetFiles(spool.LogDir));
        }

        // A compaction that copied the record into a later segment and died before releasing the original.
        File.Copy(first, Path.Combine(Path.GetDirectoryName(first)!, "0000000002.log"));

        using (var spool = new SpoolStore(_dataDir, NullLogger.Instance))
        {
            var message = Assert.Single(spool.Recover());
            Assert.Equal("moved\r\n"u8.ToArray(), SpoolBody.Read(spool, message));
            Assert.False(File.Exists(first)); // the earlier copy was released: nothing lived in its segment any more
        }

        using var restarted = new SpoolStore(_dataDir, NullLogger.Instance);
        Assert.Single(restarted.Recover());
    }

    private static async Task<SpooledMessage> CommitAsync(SpoolStore spool, string id, byte[] body)
    {
        var incoming = spool.Begin(id, "1", 1_000_000);
        incoming.Write(new ReadOnlySequence<byte>(body));
        var message = new SpooledMessage
        {
            MessageId = id,
            TransmissionId = "1",
            ReceivedAt = DateTimeOffset.UnixEpoch,
            MailFrom = "sender@example.org",
            Size = incoming.Length,
            Listener = "default",
            RemoteIp = "127.0.0.1",
            Recipients = [new SpooledRecipient { Address = "rcpt@example.com" }],
        };
        await spool.CommitAsync(incoming, message);
        return message;
    }

    private static string[] Names(string directory) =>
        [.. Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    private sealed class LineLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
