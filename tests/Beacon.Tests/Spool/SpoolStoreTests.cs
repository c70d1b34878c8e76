using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
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
        var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        var body = "Subject: hi\r\n\r\nhello\r\n"u8.ToArray();
        await CommitAsync(spool, "00000000000000000001", body);

        var message = Assert.Single(spool.List());
        Assert.Equal(body, ReadBody(spool, message));
        Assert.Equal("rcpt@example.com", Assert.Single(message.Recipients).Address);
        Assert.Equal(["00000000000000000001.eml"], Names(spool.QueueDir)); // one file per message: the metadata trails the body
        Assert.Equal(0, spool.Count() - 1);
        Assert.Single(new SpoolStore(_dataDir, NullLogger.Instance).Recover());
    }

    [Fact]
    public async Task Recovery_reports_its_progress_and_a_summary()
    {
        var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        for (var i = 0; i < 5; i++)
        {
            await CommitAsync(spool, $"0000000000000000002{i}", "hello\r\n"u8.ToArray());
        }

        var log = new LineLogger();
        var recovered = new SpoolStore(_dataDir, log) { RecoveryProgressEvery = 2 }.Recover();

        Assert.Equal(5, recovered.Count);
        Assert.Contains("spool: recovering, 2/5 messages read (40%), 0 quarantined", log.Lines);
        Assert.Contains("spool: recovering, 4/5 messages read (80%), 0 quarantined", log.Lines);
        Assert.DoesNotContain(log.Lines, l => l.Contains("5/5", StringComparison.Ordinal)); // the summary says it
        Assert.Matches("^spool: recovered 5 of 5 messages in [0-9.]+ s, 0 quarantined$", log.Lines[^1]);
    }

    [Fact]
    public void Writes_past_the_limit_mark_the_message_oversized_and_stop_writing()
    {
        var spool = new SpoolStore(_dataDir, NullLogger.Instance);
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
        var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        await CommitAsync(spool, "00000000000000000010", "good\r\n"u8.ToArray());
        var updated = await CommitAsync(spool, "00000000000000000017", "state changed since\r\n"u8.ToArray());
        spool.Update(updated with { Recipients = [updated.Recipients[0] with { Attempts = 2 }] });
        await CommitAsync(spool, "00000000000000000011", "trailer damaged later\r\n"u8.ToArray());
        await CommitAsync(spool, "00000000000000000012", "meta corrupted later\r\n"u8.ToArray());
        File.WriteAllText(Path.Combine(spool.IncomingDir, "00000000000000000013.eml.copy"), "a rendered copy");
        File.WriteAllText(Path.Combine(spool.QueueDir, "00000000000000000014.eml"), "half a DATA: metadata never written");
        File.WriteAllText(Path.Combine(spool.QueueDir, "00000000000000000016.eml.new"), "a header rewrite cut short");
        File.WriteAllText(Path.Combine(spool.QueueDir, "00000000000000000015.json.tmp"), "{");
        File.WriteAllText(Path.Combine(spool.QueueDir, "00000000000000000018.json"), "{}"); // a removal cut short: no body
        FlipByte(spool.BodyPath("00000000000000000011"), fromEnd: 20);
        File.WriteAllText(Path.Combine(spool.QueueDir, "00000000000000000012.json"), "{ not json");

        var recovered = new SpoolStore(_dataDir, NullLogger.Instance).Recover();

        Assert.Equal(["00000000000000000010", "00000000000000000017"], recovered.Select(m => m.MessageId));
        Assert.Equal(2, recovered[1].Recipients[0].Attempts);
        Assert.Empty(Directory.GetFiles(spool.IncomingDir));
        Assert.Equal(["00000000000000000010.eml", "00000000000000000017.eml", "00000000000000000017.json"], Names(spool.QueueDir));
        Assert.Equal(["00000000000000000011.eml", "00000000000000000012.eml", "00000000000000000012.json"], Names(spool.QuarantineDir));
    }

    [Fact]
    public void Messages_spooled_by_the_earlier_layout_a_body_and_a_metadata_file_are_still_read_and_checked()
    {
        var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        foreach (var (id, body, size) in new[] { ("00000000000000000030", "whole\r\n", 7L), ("00000000000000000031", "trunc", 40L) })
        {
            File.WriteAllText(spool.BodyPath(id), body);
            File.WriteAllText(Path.Combine(spool.QueueDir, id + ".json"), $$"""
                {"version":1,"message_id":"{{id}}","transmission_id":"1","received_at":"2026-11-27T00:00:00+00:00","mail_from":"a@example.org",
                 "size":{{size}},"listener":"default","remote_ip":"127.0.0.1","recipients":[{"address":"b@example.com"}]}
                """);
        }

        var recovered = new SpoolStore(_dataDir, NullLogger.Instance).Recover();

        var message = Assert.Single(recovered);
        Assert.Equal("whole\r\n"u8.ToArray(), ReadBody(spool, message));
        Assert.Equal(["00000000000000000031.eml", "00000000000000000031.json"], Names(spool.QuarantineDir));
    }

    [Fact]
    public async Task Content_that_ends_like_a_trailer_is_not_taken_for_one_without_the_spools_key()
    {
        var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        var committed = await CommitAsync(spool, "00000000000000000040", "hello\r\n"u8.ToArray());

        // A client's BDAT content ending with a trailer of its own making for the message it is sending (id 41):
        // valid JSON, right length, right CRC-32, only the key guessed wrong. Beacon stops before the commit.
        var json = JsonSerializer.SerializeToUtf8Bytes(committed with { MessageId = "00000000000000000041", Size = 7 }, SpooledMessage.Json);
        var forged = new byte[7 + json.Length + 16];
        "hello\r\n"u8.CopyTo(forged);
        json.CopyTo(forged, 7);
        BinaryPrimitives.WriteUInt32LittleEndian(forged.AsSpan(7 + json.Length), (uint)json.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(forged.AsSpan(7 + json.Length + 4), Crc32.HashToUInt32(json));
        "guessed!"u8.CopyTo(forged.AsSpan(7 + json.Length + 8));
        var incoming = spool.Begin("00000000000000000041", "1", 1_000_000);
        incoming.Write(new ReadOnlySequence<byte>(forged));
        incoming.Dispose();

        Assert.Equal(["00000000000000000040"], new SpoolStore(_dataDir, NullLogger.Instance).Recover().Select(m => m.MessageId));
        Assert.Equal(["00000000000000000040.eml"], Names(spool.QueueDir)); // removed as never acknowledged
        Assert.Empty(Names(spool.QuarantineDir));
    }

    [Fact]
    public async Task Update_rewrites_only_the_metadata()
    {
        var spool = new SpoolStore(_dataDir, NullLogger.Instance);
        var message = await CommitAsync(spool, "00000000000000000020", "body\r\n"u8.ToArray());
        var bodyBytes = File.ReadAllBytes(spool.BodyPath(message.MessageId));
        var bodyTime = File.GetLastWriteTimeUtc(spool.BodyPath(message.MessageId));
        spool.Update(message with { Recipients = [message.Recipients[0] with { State = RecipientState.Delivered }] });

        Assert.Equal(RecipientState.Delivered, spool.TryRead(message.MessageId)!.Recipients[0].State);
        Assert.Equal(bodyTime, File.GetLastWriteTimeUtc(spool.BodyPath(message.MessageId)));
        Assert.Equal(bodyBytes, File.ReadAllBytes(spool.BodyPath(message.MessageId)));
        Assert.Equal("body\r\n"u8.ToArray(), ReadBody(spool, spool.TryRead(message.MessageId)!));
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

    private static byte[] ReadBody(SpoolStore spool, SpooledMessage message)
    {
        using var body = spool.OpenBody(message);
        Assert.Equal(message.Size, body.Length);
        using var copy = new MemoryStream();
        body.CopyTo(copy);
        return copy.ToArray();
    }

    private static void FlipByte(string path, int fromEnd)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[^fromEnd] ^= 0x01;
        File.WriteAllBytes(path, bytes);
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
