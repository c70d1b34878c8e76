using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Beacon.Spool;

/// <summary>
/// Time-ordered ids, unique per node (spec §5 Q28). A 64-bit value of milliseconds since 2020-01-01 (40 bits)
/// and a sequence (24 bits) that never repeats or goes backwards while the process runs, even if the clock does.
/// Message ids are 20 lowercase hex characters: 10 of time, 4 of the node, 6 of sequence, like Momentum's
/// "0000632c8b54d53f0a00". Transmission and event ids are the 64-bit value in decimal.
/// </summary>
public sealed class MessageIdGenerator(string nodeName, TimeProvider time)
{
    private static readonly DateTimeOffset Epoch = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly ushort _node = BinaryPrimitives.ReadUInt16BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(nodeName)));
    private long _last;

    public string NextMessageId()
    {
        var value = Next();
        return string.Create(CultureInfo.InvariantCulture, $"{value >> 24:x10}{_node:x4}{value & 0xFFFFFF:x6}");
    }

    public string NextDecimalId() => Next().ToString(CultureInfo.InvariantCulture);

    private long Next()
    {
        var now = Math.Max(0, (long)(time.GetUtcNow() - Epoch).TotalMilliseconds) << 24;
        while (true)
        {
            var last = Interlocked.Read(ref _last);
            var next = Math.Max(last + 1, now);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return next;
            }
        }
    }
}
