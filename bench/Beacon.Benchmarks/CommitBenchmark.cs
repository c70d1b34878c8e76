using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Beacon.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Benchmarks;

/// <summary>
/// Commits/second of <see cref="SpoolStore"/> (each commit durable in a log segment synced by the group commit
/// before it returns) against a reference at equal durability in the same run: one file per message, written,
/// fsynced, and its directory fsynced (what Beacon's spool did before the log). Writers stand in for SMTP sessions:
/// each takes the next message, writes it and awaits its commit. Every round gets a fresh data dir; the two modes
/// alternate.
/// </summary>
internal sealed class CommitBenchmark(CommitBenchmark.Settings settings)
{
    public sealed record Settings(int Messages, int Writers, int Size, int Rounds, string Directory)
    {
        public static Settings Default { get; } = new(5_000, 20, 10 * 1024, 5, Path.GetTempPath());
    }

    private readonly byte[] _body = MakeBody(settings.Size);
    private readonly MessageIdGenerator _ids = new("bench", TimeProvider.System);
    private readonly List<string> _dataDirs = [];

    public async Task RunAsync()
    {
        try
        {
            await RunRoundsAsync().ConfigureAwait(false);
        }
        finally
        {
            // Only now: on ext4 without a journal, creating files right after deleting thousands costs several
            // times more CPU (the inode allocator skips recently deleted inodes), which would skew later rounds.
            foreach (var dataDir in _dataDirs)
            {
                System.IO.Directory.Delete(dataDir, recursive: true);
            }
        }
    }

    private async Task RunRoundsAsync()
    {
        Console.WriteLine($"spool commit benchmark: {settings.Messages} messages of {settings.Size} octets, {settings.Writers} concurrent writers, " +
            $"{settings.Rounds} rounds per mode, data under {settings.Directory}, {Environment.ProcessorCount} cores");

        // A short unmeasured round: JIT, thread pool growth, and the first directories on the disk.
        await MeasureAsync(Math.Max(settings.Writers, settings.Messages / 10)).ConfigureAwait(false);

        var (log, file) = (new List<double>(), new List<double>());
        Console.WriteLine($"{"round",5}  {"mode",-16}  {"seconds",8}  {"commits/s",9}");
        for (var round = 1; round <= settings.Rounds; round++)
        {
            var seconds = await MeasureFilesAsync(settings.Messages).ConfigureAwait(false);
            file.Add(settings.Messages / seconds);
            Console.WriteLine($"{round,5}  {"file per message",-16}  {seconds,8:F3}  {file[^1],9:F0}");
            seconds = await MeasureAsync(settings.Messages).ConfigureAwait(false);
            log.Add(settings.Messages / seconds);
            Console.WriteLine($"{round,5}  {"spool log",-16}  {seconds,8:F3}  {log[^1],9:F0}");
        }

        Console.WriteLine($"median commits/s: spool log {Median(log):F0}, file per message {Median(file):F0}, ratio {Median(log) / Median(file):F2}");
    }

    /// <summary>The reference: each writer creates a file per message, writes it, fsyncs it and fsyncs its directory.</summary>
    private async Task<double> MeasureFilesAsync(int messages)
    {
        var dataDir = Path.Combine(settings.Directory, $"beacon-commit-{Guid.NewGuid():N}");
        _dataDirs.Add(dataDir);
        System.IO.Directory.CreateDirectory(dataDir);
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            Sync();
        }

        var metadata = new byte[600];
        var remaining = messages;
        var clock = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, settings.Writers).Select(_ => Task.Run(() =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                using (var file = new FileStream(Path.Combine(dataDir, _ids.NextMessageId() + ".eml"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
                {
                    file.Write(_body);
                    file.Write(metadata);
                    file.Flush(flushToDisk: true);
                }

                DurableFile.SyncDirectory(dataDir);
            }
        }));
        await Task.WhenAll(writers).ConfigureAwait(false);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Seconds to commit <paramref name="messages"/> messages through one fresh spool.</summary>
    private async Task<double> MeasureAsync(int messages)
    {
        var dataDir = Path.Combine(settings.Directory, $"beacon-commit-{Guid.NewGuid():N}");
        _dataDirs.Add(dataDir);
        using var spool = new SpoolStore(dataDir, NullLogger.Instance);

        // Write back what earlier rounds left dirty, so this round's fsyncs don't pay for it.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            Sync();
        }

        var remaining = messages;
        var clock = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, settings.Writers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                await CommitOneAsync(spool).ConfigureAwait(false);
            }
        }));
        await Task.WhenAll(writers).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;

        var stored = spool.Count();
        if (stored != messages)
        {
            throw new InvalidOperationException($"the queue holds {stored} messages, expected {messages}");
        }

        return seconds;
    }

    private async Task CommitOneAsync(SpoolStore spool)
    {
        var incoming = spool.Begin(_ids.NextMessageId(), _ids.NextDecimalId(), long.MaxValue);
        incoming.Write(new ReadOnlySequence<byte>(_body));
        var message = new SpooledMessage
        {
            MessageId = incoming.MessageId,
            TransmissionId = incoming.TransmissionId,
            ReceivedAt = DateTimeOffset.UtcNow,
            MailFrom = "a@example.org",
            Size = incoming.Length,
            Listener = "bench",
            RemoteIp = "127.0.0.1",
            Helo = "bench.example.org",
            Recipients = [new SpooledRecipient { Address = "b@example.com" }],
        };
        await spool.CommitAsync(incoming, message).ConfigureAwait(false);
    }

    /// <summary>A plain-text message of exactly <paramref name="size"/> octets: a header, then 78-octet lines.</summary>
    private static byte[] MakeBody(int size)
    {
        var text = new StringBuilder("From: a@example.org\r\nTo: b@example.com\r\nSubject: commit benchmark\r\n\r\n");
        for (var line = 0; text.Length < size; line++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{line:D6} ").Append('x', 69).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, size));
    }

    [DllImport("libc", EntryPoint = "sync")]
    private static extern void Sync();

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
