using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Beacon.Spool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Tests.Spool;

/// <summary>
/// The spool log through <see cref="SpoolStore"/>'s public API, with the segment files under spool/log read and
/// damaged byte by byte where a test needs a crash or a bad disk.
/// </summary>
public sealed class SpoolLogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("beacon-spoollog-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string DataDir(string name = "data") => Path.Combine(_root, name);

    [Fact]
    public async Task Concurrent_commits_share_one_segment_and_read_back_byte_identical()
    {
        var bodies = new ConcurrentDictionary<string, byte[]>();
        string[] segments;
        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            await Task.WhenAll(Enumerable.Range(0, 20).Select(task => Task.Run(async () =>
            {
                for (var i = 0; i < 10; i++)
                {
                    var n = (task * 10) + i;
                    // mostly small bodies, a few spilled to incoming/ (over 256 KiB), one empty
                    var body = n == 7 ? [] : Printable(n % 50 == 3 ? 300 * 1024 + n : 50 + (n * 97), seed: n);
                    bodies[Id(n)] = body;
                    await CommitAsync(spool, Id(n), body);
                }
            })));

            Assert.Equal(200, spool.Count());
            Assert.Equal(0, spool.Receiving);
            Assert.Empty(Directory.GetFiles(spool.IncomingDir));
            segments = Segments(spool.LogDir);
            Assert.Single(segments); // one file for every commit: no file per message
            Assert.NotEqual("BEND", Records(segments[0])[^1].Kind); // still being written: unsealed

            // A copy taken now is what kill -9 would leave: its recovery checks every body against its CRC-32.
            CopySpool(DataDir(), DataDir("crash"));
        }

        var records = Records(segments[0]);
        Assert.Equal(201, records.Count);
        Assert.All(records.SkipLast(1), r => Assert.Equal(("BMSG", "LIVE"), (r.Kind, r.State)));
        Assert.Equal("BEND", records[^1].Kind); // Dispose sealed it
        Assert.Equal(new FileInfo(segments[0]).Length, records[^1].End);
        Assert.Equal(bodies.Keys.Order(StringComparer.Ordinal), records.SkipLast(1).Select(r => r.Id!).Order(StringComparer.Ordinal));

        foreach (var dataDir in new[] { DataDir(), DataDir("crash") })
        {
            var logger = new LineLogger();
            using var spool = new SpoolStore(dataDir, logger);
            var recovered = spool.Recover();
            Assert.Equal(bodies.Keys.Order(StringComparer.Ordinal), recovered.Select(m => m.MessageId));
            foreach (var message in recovered)
            {
                Assert.Equal(bodies[message.MessageId], SpoolBody.Read(spool, message));
            }

            Assert.DoesNotContain(logger.Lines, l => l.Level >= LogLevel.Warning || l.Text.Contains("dropped", StringComparison.Ordinal));
            Assert.Empty(Directory.GetFiles(spool.QuarantineDir));
        }
    }

    [Fact]
    public async Task A_torn_last_record_of_an_unsealed_segment_is_cut_and_every_complete_record_kept()
    {
        var bodies = await CommitThreeAsync(n => Printable(200 + n, seed: n), crashCopy: false);

        using (var running = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            Assert.Equal(3, running.Recover().Count);
            for (var n = 4; n <= 7; n++)
            {
                bodies[Id(n)] = Printable(300 + n, seed: n);
                await CommitAsync(running, Id(n), bodies[Id(n)]);
            }

            // kill -9 now: the segment being written has no seal
            CopySpool(DataDir(), DataDir("crash"));
        }

        var crashed = Segments(LogDir(DataDir("crash")));
        Assert.Equal(2, crashed.Length);
        var torn = crashed[1];
        Assert.Equal([Id(4), Id(5), Id(6), Id(7)], Records(torn).Select(r => r.Id));
        var lastRecord = Records(torn)[^1];
        using (var file = new FileStream(torn, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(file.Length - 5); // the last commit's write never finished: it was not acknowledged
        }

        var logger = new LineLogger();
        using (var spool = new SpoolStore(DataDir("crash"), logger))
        {
            var recovered = spool.Recover();

            Assert.Equal([Id(1), Id(2), Id(3), Id(4), Id(5), Id(6)], recovered.Select(m => m.MessageId));
            foreach (var message in recovered)
            {
                Assert.Equal(bodies[message.MessageId], SpoolBody.Read(spool, message));
            }

            Assert.Contains(logger.Lines, l => l.Level == LogLevel.Information && l.Text.Contains(Path.GetFileName(torn), StringComparison.Ordinal) &&
                l.Text.Contains("dropped", StringComparison.Ordinal));
            Assert.DoesNotContain(logger.Lines, l => l.Level >= LogLevel.Warning);
            Assert.Empty(Directory.GetFiles(spool.QuarantineDir));
        }

        // cut to its last complete record and sealed
        var records = Records(torn);
        Assert.Equal([Id(4), Id(5), Id(6), null], records.Select(r => r.Id));
        Assert.Equal("BEND", records[^1].Kind);
        Assert.Equal(lastRecord.Offset, records[^1].Offset);
        Assert.Equal(lastRecord.Offset + SpoolLog.HeaderSize, new FileInfo(torn).Length);

        var again = new LineLogger();
        using (var spool = new SpoolStore(DataDir("crash"), again))
        {
            Assert.Equal(6, spool.Recover().Count);
            Assert.DoesNotContain(again.Lines, l => l.Text.Contains("dropped", StringComparison.Ordinal) || l.Level >= LogLevel.Warning);
        }
    }

    [Fact]
    public async Task Garbage_after_the_last_record_of_an_unsealed_segment_is_cut_and_every_record_kept()
    {
        var bodies = await CommitThreeAsync(n => Printable(100 * n, seed: n), crashCopy: true);

        var segment = Assert.Single(Segments(LogDir(DataDir("crash"))));
        var length = new FileInfo(segment).Length;
        using (var file = new FileStream(segment, FileMode.Append))
        {
            file.Write(RandomNumberGenerator.GetBytes(100)); // a batch whose header and body were half written
        }

        var logger = new LineLogger();
        using (var spool = new SpoolStore(DataDir("crash"), logger))
        {
            var recovered = spool.Recover();
            Assert.Equal([Id(1), Id(2), Id(3)], recovered.Select(m => m.MessageId));
            Assert.All(recovered, m => Assert.Equal(bodies[m.MessageId], SpoolBody.Read(spool, m)));
            Assert.Contains(logger.Lines, l => l.Level == LogLevel.Information && l.Text.Contains("100 octets", StringComparison.Ordinal));
            Assert.DoesNotContain(logger.Lines, l => l.Level >= LogLevel.Warning);
            Assert.Empty(Directory.GetFiles(spool.QuarantineDir));
        }

        Assert.Equal(length + SpoolLog.HeaderSize, new FileInfo(segment).Length);
        Assert.Equal("BEND", Records(segment)[^1].Kind);
    }

    [Fact]
    public async Task Damaged_metadata_in_a_sealed_segment_quarantines_that_record_and_keeps_every_other()
    {
        var bodies = await CommitThreeAsync(n => Printable(150 * n, seed: n), crashCopy: false);

        var segment = Assert.Single(Segments(LogDir(DataDir())));
        var second = Records(segment)[1];
        Assert.Equal(Id(2), second.Id);
        var original = File.ReadAllBytes(segment)[(int)second.Offset..(int)second.End];
        FlipByte(segment, second.MetadataOffset + 10);
        var damaged = File.ReadAllBytes(segment)[(int)second.Offset..(int)second.End];
        Assert.NotEqual(original, damaged);

        var logger = new LineLogger();
        using (var spool = new SpoolStore(DataDir(), logger))
        {
            var recovered = spool.Recover();

            // The header's lengths are sound, so the damaged record is stepped over: 1 and 3 are kept.
            Assert.Equal([Id(1), Id(3)], recovered.Select(m => m.MessageId));
            Assert.Equal(bodies[Id(1)], SpoolBody.Read(spool, recovered[0]));
            Assert.Equal(bodies[Id(3)], SpoolBody.Read(spool, recovered[1]));
            var copy = $"{Path.GetFileNameWithoutExtension(segment)}-{second.Offset}.record";
            Assert.Equal([copy], Names(spool.QuarantineDir));
            Assert.Equal(damaged, File.ReadAllBytes(Path.Combine(spool.QuarantineDir, copy)));
            Assert.Contains(logger.Lines, l => l.Level == LogLevel.Error && l.Text.Contains(Path.GetFileName(segment), StringComparison.Ordinal) &&
                l.Text.Contains("metadata failing its checksum", StringComparison.Ordinal));
        }

        Assert.Equal(["LIVE", "DEAD", "LIVE"], Records(segment).Where(r => r.Kind == "BMSG").Select(r => r.State));

        var again = new LineLogger();
        using (var spool = new SpoolStore(DataDir(), again))
        {
            Assert.Equal([Id(1), Id(3)], spool.Recover().Select(m => m.MessageId));
            Assert.DoesNotContain(again.Lines, l => l.Level >= LogLevel.Warning);
        }
    }

    [Fact]
    public async Task A_body_failing_its_checksum_in_an_unsealed_segment_is_taken_for_a_torn_write_and_dropped()
    {
        var bodies = await CommitThreeAsync(n => Printable(150 * n, seed: n), crashCopy: true);

        var segment = Assert.Single(Segments(LogDir(DataDir("crash"))));
        var third = Records(segment)[2];
        FlipByte(segment, third.BodyOffset + 20); // length intact: only the body's CRC-32 can tell

        var logger = new LineLogger();
        using (var spool = new SpoolStore(DataDir("crash"), logger))
        {
            var recovered = spool.Recover();
            Assert.Equal([Id(1), Id(2)], recovered.Select(m => m.MessageId));
            Assert.All(recovered, m => Assert.Equal(bodies[m.MessageId], SpoolBody.Read(spool, m)));
            Assert.Contains(logger.Lines, l => l.Level == LogLevel.Information && l.Text.Contains("a body failing its checksum", StringComparison.Ordinal));
            Assert.DoesNotContain(logger.Lines, l => l.Level >= LogLevel.Warning);
            Assert.Empty(Directory.GetFiles(spool.QuarantineDir));
        }

        Assert.Equal([Id(1), Id(2), null], Records(segment).Select(r => r.Id));
    }

    [Fact]
    public async Task A_body_flipped_in_a_sealed_segment_is_not_read_at_recovery_as_documented()
    {
        var bodies = await CommitThreeAsync(n => Printable(150 * n, seed: n), crashCopy: false);

        var segment = Assert.Single(Segments(LogDir(DataDir())));
        FlipByte(segment, Records(segment)[2].BodyOffset + 20);

        var logger = new LineLogger();
        using (var spool = new SpoolStore(DataDir(), logger))
        {
            var recovered = spool.Recover();

            // Sealed: every record was durable, and reading every body on start would cost a full read of the spool.
            Assert.Equal([Id(1), Id(2), Id(3)], recovered.Select(m => m.MessageId));
            var expected = bodies[Id(3)].ToArray();
            expected[20] ^= 0x01;
            Assert.Equal(expected, SpoolBody.Read(spool, recovered[2]));
            Assert.DoesNotContain(logger.Lines, l => l.Level >= LogLevel.Warning);
        }
    }

    [Fact]
    public async Task Content_ending_like_a_seal_does_not_spare_an_unsealed_segment_its_body_checks()
    {
        // A client can end its message with a valid-looking seal record: the header checksum is no secret.
        var forgedSeal = new byte[SpoolLog.HeaderSize];
        "BEND"u8.CopyTo(forgedSeal);
        BinaryPrimitives.WriteUInt32LittleEndian(forgedSeal.AsSpan(12), Crc32.HashToUInt32([]));
        var crc = new Crc32();
        crc.Append(forgedSeal.AsSpan(0, 4));
        crc.Append(forgedSeal.AsSpan(8, 20));
        BinaryPrimitives.WriteUInt32LittleEndian(forgedSeal.AsSpan(28), crc.GetCurrentHashAsUInt32());

        var bodies = await CommitThreeAsync(n => n == 3 ? [.. Printable(500, seed: n), .. forgedSeal] : Printable(400 * n, seed: n), crashCopy: true);

        // a power cut inside the last batch: the pages of message 2 never reached the disk, those after them did
        var segment = Assert.Single(Segments(LogDir(DataDir("crash"))));
        var second = Records(segment)[1];
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(file.SafeFileHandle, new byte[100], second.BodyOffset + 50);
        }

        using var spool = new SpoolStore(DataDir("crash"), NullLogger.Instance);
        var recovered = spool.Recover();
        Assert.Equal([Id(1)], recovered.Select(m => m.MessageId)); // message 2 fails its CRC-32: never delivered damaged
        Assert.Equal(bodies[Id(1)], SpoolBody.Read(spool, recovered[0]));
    }

    [Fact]
    public async Task A_removed_message_does_not_come_back_and_a_segment_without_live_records_is_deleted()
    {
        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            await CommitAsync(spool, Id(1), "one\r\n"u8.ToArray());
            await CommitAsync(spool, Id(2), "two\r\n"u8.ToArray());
            spool.Remove(Id(1));
            spool.Remove(Id(1)); // twice: harmless

            Assert.False(spool.Contains(Id(1)));
            Assert.True(spool.Contains(Id(2)));
            Assert.Null(spool.TryRead(Id(1)));
            Assert.Equal([Id(2)], spool.List().Select(m => m.MessageId));
            Assert.Equal(1, spool.Count());
        }

        var segment = Assert.Single(Segments(LogDir(DataDir())));
        Assert.Equal([("BMSG", "DEAD"), ("BMSG", "LIVE"), ("BEND", "\0\0\0\0")], Records(segment).Select(r => (r.Kind, r.State)));
        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            var message = Assert.Single(spool.Recover());
            Assert.Equal(Id(2), message.MessageId);
            Assert.Equal("two\r\n"u8.ToArray(), SpoolBody.Read(spool, message));

            // the segment is sealed now: removing its last live message deletes it at once
            spool.Remove(Id(2));
            Assert.Empty(Segments(spool.LogDir));
            Assert.Equal(0, spool.Count());
        }

        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            Assert.Empty(spool.Recover());
        }
    }

    [Fact]
    public async Task The_segment_being_written_is_deleted_at_dispose_when_every_message_in_it_was_removed()
    {
        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            await CommitAsync(spool, Id(1), "one\r\n"u8.ToArray());
            await CommitAsync(spool, Id(2), "two\r\n"u8.ToArray());
            spool.Remove(Id(1));
            spool.Remove(Id(2));
            Assert.Single(Segments(spool.LogDir)); // still the head: more may be appended
        }

        Assert.Empty(Segments(LogDir(DataDir())));
    }

    [Fact]
    public async Task An_update_supersedes_the_records_metadata_across_a_restart_and_a_removal_deletes_its_file()
    {
        var meta = Path.Combine(DataDir(), "spool", "meta");
        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            var removedAtOnce = await CommitAsync(spool, Id(1), "one\r\n"u8.ToArray());
            var kept = await CommitAsync(spool, Id(2), "two\r\n"u8.ToArray());
            spool.Update(removedAtOnce with { Recipients = [removedAtOnce.Recipients[0] with { State = RecipientState.Delivered }] });
            spool.Update(kept with { Recipients = [kept.Recipients[0] with { Attempts = 3, LastError = "451 try later" }] });

            Assert.Equal(RecipientState.Delivered, spool.TryRead(Id(1))!.Recipients[0].State);
            Assert.Equal(3, spool.TryRead(Id(2))!.Recipients[0].Attempts);
            Assert.Equal([Id(1) + ".json", Id(2) + ".json"], Names(meta));

            spool.Remove(Id(1));
            Assert.Equal([Id(2) + ".json"], Names(meta));
        }

        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            var message = Assert.Single(spool.Recover());
            Assert.Equal(Id(2), message.MessageId);
            Assert.Equal(3, message.Recipients[0].Attempts);
            Assert.Equal("451 try later", message.Recipients[0].LastError);
            Assert.Equal(3, spool.TryRead(Id(2))!.Recipients[0].Attempts);
            Assert.Equal("two\r\n"u8.ToArray(), SpoolBody.Read(spool, message));

            spool.Remove(Id(2)); // a message found on start: its metadata file goes with it
            Assert.Empty(Names(meta));
        }
    }

    [Fact]
    public async Task A_large_body_spills_to_incoming_while_received_and_leaves_nothing_there_once_committed()
    {
        var content = Printable(1024 * 1024, seed: 42);
        var received = "Received: from client\r\n"u8.ToArray();
        using var spool = new SpoolStore(DataDir(), NullLogger.Instance);
        var incoming = spool.Begin(Id(1), "1", sizeLimit: 2 * 1024 * 1024);
        incoming.WriteHeader(received);
        for (var offset = 0; offset < content.Length; offset += 65536)
        {
            incoming.Write(new ReadOnlySequence<byte>(content, offset, Math.Min(65536, content.Length - offset)));
        }

        Assert.False(incoming.Oversized);
        Assert.Equal([Id(1) + ".body"], Names(spool.IncomingDir));
        Assert.Equal(1, spool.Receiving);

        var message = Message(Id(1), incoming.Length);
        await spool.CommitAsync(incoming, message);

        Assert.Empty(Directory.GetFiles(spool.IncomingDir));
        Assert.Equal(0, spool.Receiving);
        byte[] expected = [.. received, .. content];
        Assert.Equal(expected.Length, message.Size);
        Assert.Equal(expected, SpoolBody.Read(spool, message));

        CopySpool(DataDir(), DataDir("crash")); // unsealed: recovery checks the body's CRC-32
        using var recovered = new SpoolStore(DataDir("crash"), NullLogger.Instance);
        Assert.Equal(expected, SpoolBody.Read(recovered, Assert.Single(recovered.Recover())));
    }

    [Theory]
    [InlineData(1000)] // in memory
    [InlineData(1024 * 1024)] // spilled to incoming/
    public async Task A_replaced_header_section_is_what_gets_committed(int contentSize)
    {
        var oldSection = "Subject: old\r\nX-Drop: me\r\n\r\n"u8.ToArray();
        var newSection = "Subject: new\r\nX-Added: yes, a longer header than before\r\n\r\n"u8.ToArray();
        var rest = Printable(contentSize, seed: contentSize);
        using var spool = new SpoolStore(DataDir(), NullLogger.Instance);
        var incoming = spool.Begin(Id(1), "1", sizeLimit: 4 * 1024 * 1024);
        incoming.Write(new ReadOnlySequence<byte>([.. oldSection, .. rest]));
        Assert.Equal(contentSize > IncomingMessage.MemoryLimit, Directory.GetFiles(spool.IncomingDir).Length == 1);

        incoming.ReplaceHeaderSection(newSection, oldSection.Length);

        byte[] expected = [.. newSection, .. rest];
        Assert.Equal(expected.Length, incoming.Length);
        using (var before = incoming.OpenRead())
        using (var copy = new MemoryStream())
        {
            before.CopyTo(copy);
            Assert.Equal(expected, copy.ToArray());
        }

        var message = Message(Id(1), incoming.Length);
        await spool.CommitAsync(incoming, message);
        Assert.Equal(expected, SpoolBody.Read(spool, message));
        Assert.Empty(Directory.GetFiles(spool.IncomingDir)); // neither the spill file nor the rewrite's .new

        CopySpool(DataDir(), DataDir("crash")); // unsealed: a wrong CRC-32 after the rewrite would drop the message
        using var recovered = new SpoolStore(DataDir("crash"), NullLogger.Instance);
        Assert.Equal(expected, SpoolBody.Read(recovered, Assert.Single(recovered.Recover())));
    }

    [Fact]
    public void An_aborted_spilled_body_leaves_nothing_behind()
    {
        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            var incoming = spool.Begin(Id(1), "1", sizeLimit: 2 * 1024 * 1024);
            incoming.Write(new ReadOnlySequence<byte>(Printable(1024 * 1024, seed: 1)));
            Assert.Single(Directory.GetFiles(spool.IncomingDir));

            spool.Abort(incoming);
            spool.Abort(incoming); // safe twice, counted once

            Assert.Empty(Directory.GetFiles(spool.IncomingDir));
            Assert.Equal(0, spool.Receiving);
            Assert.Equal(0, spool.Count());
            Assert.Empty(spool.List());
            Assert.False(spool.Contains(Id(1)));
            Assert.Empty(Segments(spool.LogDir));
        }

        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            Assert.Empty(spool.Recover());
        }
    }

    [Fact]
    public async Task A_store_that_did_not_recover_reads_the_running_stores_log_and_changes_no_file()
    {
        using var running = new SpoolStore(DataDir(), NullLogger.Instance);
        Assert.Empty(running.Recover());
        var one = await CommitAsync(running, Id(1), "one\r\n"u8.ToArray());
        var two = await CommitAsync(running, Id(2), Printable(300 * 1024, seed: 2));
        await CommitAsync(running, Id(3), "three\r\n"u8.ToArray());
        running.Update(two with { Recipients = [two.Recipients[0] with { Attempts = 4 }] });
        running.Remove(Id(3));

        var before = Listing(DataDir());
        using (var view = new SpoolStore(DataDir(), NullLogger.Instance)) // the CLI beside a running Beacon
        {
            Assert.Equal([Id(1), Id(2)], view.List().Select(m => m.MessageId));
            Assert.Equal(4, view.TryRead(Id(2))!.Recipients[0].Attempts);
            Assert.Equal(0, view.TryRead(Id(1))!.Recipients[0].Attempts);
            Assert.Null(view.TryRead(Id(3)));
            Assert.True(view.Contains(Id(1)));
            Assert.False(view.Contains(Id(3)));
            Assert.Equal("one\r\n"u8.ToArray(), SpoolBody.Read(view, one));
            Assert.Equal(Printable(300 * 1024, seed: 2), SpoolBody.Read(view, view.TryRead(Id(2))!));

            // it reads the log afresh: a commit of the running store after the first look shows up
            await CommitAsync(running, Id(4), "four\r\n"u8.ToArray());
            before = Listing(DataDir());
            Assert.Equal([Id(1), Id(2), Id(4)], view.List().Select(m => m.MessageId));
        }

        Assert.Equal(before, Listing(DataDir()));
        Assert.Equal([Id(1), Id(2), Id(4)], running.List().Select(m => m.MessageId));
    }

    [Fact]
    public void Messages_of_the_earlier_file_per_message_layout_move_into_the_log()
    {
        var spoolDir = Path.Combine(DataDir(), "spool");
        var queue = Path.Combine(spoolDir, "queue");
        Directory.CreateDirectory(queue);
        var key = RandomNumberGenerator.GetBytes(8);
        File.WriteAllBytes(Path.Combine(spoolDir, "key"), key);

        // with its metadata in a trailer
        var body1 = Printable(5000, seed: 1);
        var message1 = Message(Id(1), body1.Length);
        var json = JsonSerializer.SerializeToUtf8Bytes(message1, SpooledMessage.Json);
        var trailer = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, (uint)json.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), Crc32.HashToUInt32(json));
        key.CopyTo(trailer.AsSpan(8));
        File.WriteAllBytes(Path.Combine(queue, Id(1) + ".eml"), [.. body1, .. json, .. trailer]);

        // a trailer superseded by a metadata file (a delivery attempt rewrote the state)
        var body2 = Printable(300 * 1024, seed: 2);
        var message2 = Message(Id(2), body2.Length);
        json = JsonSerializer.SerializeToUtf8Bytes(message2, SpooledMessage.Json);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, (uint)json.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), Crc32.HashToUInt32(json));
        File.WriteAllBytes(Path.Combine(queue, Id(2) + ".eml"), [.. body2, .. json, .. trailer]);
        File.WriteAllText(Path.Combine(queue, Id(2) + ".json"), $$"""
            {"message_id":"{{Id(2)}}","transmission_id":"1","received_at":"2026-11-27T00:00:00+00:00","mail_from":"a@example.org",
             "size":{{body2.Length}},"listener":"default","remote_ip":"127.0.0.1","recipients":[{"address":"b@example.com","attempts":2}]}
            """);

        var logger = new LineLogger();
        using (var spool = new SpoolStore(DataDir(), logger))
        {
            var recovered = spool.Recover();

            Assert.Equal([Id(1), Id(2)], recovered.Select(m => m.MessageId));
            Assert.Equal(body1, SpoolBody.Read(spool, recovered[0]));
            Assert.Equal(body2, SpoolBody.Read(spool, recovered[1]));
            Assert.Equal(2, recovered[1].Recipients[0].Attempts);
            Assert.Equal("b@example.com", recovered[1].Recipients[0].Address);
            Assert.False(Directory.Exists(queue) && Directory.EnumerateFileSystemEntries(queue).Any());
            Assert.Single(Segments(spool.LogDir));
            Assert.Empty(Directory.GetFiles(spool.QuarantineDir));
            Assert.Empty(Directory.GetFiles(spool.IncomingDir));
            Assert.Contains(logger.Lines, l => l.Text.Contains("moved 2 messages", StringComparison.Ordinal));
        }

        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            var recovered = spool.Recover();
            Assert.Equal([Id(1), Id(2)], recovered.Select(m => m.MessageId));
            Assert.Equal(body1, SpoolBody.Read(spool, recovered[0]));
            Assert.Equal(body2, SpoolBody.Read(spool, recovered[1]));
            Assert.Equal(2, recovered[1].Recipients[0].Attempts);
        }
    }

    [Fact]
    public async Task A_full_segment_is_sealed_and_a_new_one_begun_and_the_sealed_one_goes_once_its_messages_do()
    {
        // 64 MiB per segment: 70 messages of 1 MiB fill one and start another.
        const int Count = 70;
        var content = Printable(1024 * 1024, seed: 7);
        string[] first;
        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            for (var n = 0; n < Count; n++)
            {
                var body = Numbered(content, n);
                await spool.CommitAsync(Message(Id(n), body.Length), body);
            }

            var segments = Segments(spool.LogDir);
            Assert.Equal(2, segments.Length);
            var sealedRecords = Records(segments[0]);
            Assert.Equal("BEND", sealedRecords[^1].Kind);
            Assert.True(new FileInfo(segments[0]).Length >= SpoolLog.SegmentSize);
            Assert.NotEqual("BEND", Records(segments[1])[^1].Kind);
            first = [.. sealedRecords.SkipLast(1).Select(r => r.Id!)];
            Assert.Equal(Enumerable.Range(0, first.Length).Select(Id), first);
            Assert.Equal(Enumerable.Range(first.Length, Count - first.Length).Select(Id), Records(segments[1]).Select(r => r.Id));

            foreach (var id in first)
            {
                spool.Remove(id);
            }

            Assert.Equal([segments[1]], Segments(spool.LogDir));
        }

        using (var spool = new SpoolStore(DataDir(), NullLogger.Instance))
        {
            var recovered = spool.Recover();
            Assert.Equal(Enumerable.Range(first.Length, Count - first.Length).Select(Id), recovered.Select(m => m.MessageId));
            for (var i = 0; i < recovered.Count; i++)
            {
                Assert.Equal(Numbered(content, first.Length + i), SpoolBody.Read(spool, recovered[i]));
            }
        }
    }

    private static string Id(int n) => n.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);

    private static string LogDir(string dataDir) => Path.Combine(dataDir, "spool", "log");

    private static SpooledMessage Message(string id, long size) => new()
    {
        MessageId = id,
        TransmissionId = "1",
        ReceivedAt = DateTimeOffset.UnixEpoch,
        MailFrom = "sender@example.org",
        Size = size,
        Listener = "default",
        RemoteIp = "127.0.0.1",
        Recipients = [new SpooledRecipient { Address = "rcpt@example.com" }],
    };

    private static async Task<SpooledMessage> CommitAsync(SpoolStore spool, string id, byte[] body)
    {
        var incoming = spool.Begin(id, "1", 4 * 1024 * 1024);
        incoming.Write(new ReadOnlySequence<byte>(body));
        var message = Message(id, incoming.Length);
        await spool.CommitAsync(incoming, message);
        return message;
    }

    /// <summary>Lines of printable ASCII ending in CRLF, the same for the same seed.</summary>
    private static byte[] Printable(int length, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)random.Next(0x20, 0x7f);
        }

        for (var i = 76; i + 1 < length; i += 78)
        {
            bytes[i] = (byte)'\r';
            bytes[i + 1] = (byte)'\n';
        }

        return bytes;
    }

    private static byte[] Numbered(byte[] content, int n)
    {
        var body = content.ToArray();
        Encoding.ASCII.GetBytes($"X-N: {n:D8}\r\n").CopyTo(body, 0);
        return body;
    }

    private static string[] Segments(string logDir) =>
        [.. Directory.GetFiles(logDir, "*.log").Order(StringComparer.Ordinal)];

    /// <summary>A segment's records as the header says, without checking anything; the seal has no id.</summary>
    /// <summary>
    /// Commits messages 1, 2 and 3 with the given bodies and closes the store (which seals its segment). With
    /// <paramref name="crashCopy"/> the spool is first copied to DataDir("crash") while the store is open: what
    /// kill -9 would leave, an unsealed segment.
    /// </summary>
    private async Task<Dictionary<string, byte[]>> CommitThreeAsync(Func<int, byte[]> body, bool crashCopy)
    {
        var bodies = new Dictionary<string, byte[]>();
        using var running = new SpoolStore(DataDir(), NullLogger.Instance);
        for (var n = 1; n <= 3; n++)
        {
            bodies[Id(n)] = body(n);
            await CommitAsync(running, Id(n), bodies[Id(n)]);
        }

        if (crashCopy)
        {
            CopySpool(DataDir(), DataDir("crash"));
        }

        return bodies;
    }

    private static List<RawRecord> Records(string segment)
    {
        using var file = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var records = new List<RawRecord>();
        var header = new byte[SpoolLog.HeaderSize];
        var offset = 0L;
        while (offset + header.Length <= file.Length)
        {
            RandomAccess.Read(file.SafeFileHandle, header, offset);
            var kind = Encoding.ASCII.GetString(header, 0, 4);
            var state = Encoding.ASCII.GetString(header, 4, 4);
            var metadataLength = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
            var bodyLength = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
            string? id = null;
            if (kind == "BMSG")
            {
                var metadata = new byte[metadataLength];
                RandomAccess.Read(file.SafeFileHandle, metadata, offset + header.Length);
                try
                {
                    id = JsonDocument.Parse(metadata).RootElement.GetProperty("message_id").GetString();
                }
                catch (JsonException)
                {
                    // damaged on purpose by the test
                }
            }

            var record = new RawRecord(offset, kind, state, metadataLength, bodyLength, id);
            records.Add(record);
            if (kind != "BMSG")
            {
                break;
            }

            offset = record.End;
        }

        return records;
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var one = new byte[1];
        RandomAccess.Read(file.SafeFileHandle, one, offset);
        one[0] ^= 0x01;
        RandomAccess.Write(file.SafeFileHandle, one, offset);
    }

    /// <summary>Copies data_dir/spool as it is on disk right now (what a kill -9 would leave).</summary>
    private static void CopySpool(string from, string to)
    {
        var source = Path.Combine(from, "spool");
        foreach (var directory in Directory.GetDirectories(source, "*", SearchOption.AllDirectories).Prepend(source))
        {
            Directory.CreateDirectory(Path.Combine(to, "spool", Path.GetRelativePath(source, directory)));
        }

        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, "spool", Path.GetRelativePath(source, file)));
        }
    }

    /// <summary>Every directory and file under a data dir, with each file's size and a hash of its content.</summary>
    private static List<string> Listing(string dataDir) =>
    [
        .. Directory.GetFileSystemEntries(dataDir, "*", SearchOption.AllDirectories)
            .Select(path => File.Exists(path)
                ? $"{Path.GetRelativePath(dataDir, path)} {new FileInfo(path).Length} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)))}"
                : Path.GetRelativePath(dataDir, path) + "/")
            .Order(StringComparer.Ordinal),
    ];

    private static string[] Names(string directory) =>
        [.. Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    private sealed record RawRecord(long Offset, string Kind, string State, int MetadataLength, long BodyLength, string? Id)
    {
        public long MetadataOffset => Offset + SpoolLog.HeaderSize;

        public long BodyOffset => MetadataOffset + MetadataLength;

        public long End => BodyOffset + BodyLength;
    }

    private sealed class LineLogger : ILogger
    {
        private readonly List<(LogLevel Level, string Text)> _lines = [];

        public List<(LogLevel Level, string Text)> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
