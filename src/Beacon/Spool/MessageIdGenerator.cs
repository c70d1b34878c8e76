using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Beacon.Spool;

/// <summary>
/// Time-ordered ids, unique per node and across a fleet's nodes (spec §5 Q28). The counter is milliseconds since
/// 2020-01-01 (40 bits) and a sequence (14 bits) that never repeats or goes backwards while the process runs, even
/// if the clock does (more than 16,384 ids in one millisecond borrow from the next). Message ids are 20 lowercase
/// hex characters: 10 of time, 4 of the node, 6 of sequence, like Momentum's "0000632c8b54d53f0a00". Transmission
/// and event ids are the counter and 10 bits of the node name's hash as one unsigned 64-bit decimal, so two nodes
/// writing to one event store don't give two events the same event_id (unless their names' hashes collide:
/// about 1 in 1,000 for a pair of names).
/// </summary>
public sealed class MessageIdGenerator(string nodeName, TimeProvider time)
{
    private const int SequenceBits = 14;
    private const int NodeBits = 10;
    private static readonly DateTimeOffset Epoch = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly ushort _node = BinaryPrimitives.ReadUInt16BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(nodeName)));
    private long _last;

    public string NextMessageId()
    {
        var value = Next();
        return string.Create(CultureInfo.InvariantCulture, $"{value >> SequenceBits:x10}{_node:x4}{value & ((1 << SequenceBits) - 1):x6}");
    }

    public string NextDecimalId() =>
        (((ulong)Next() << NodeBits) | (uint)(_node & ((1 << NodeBits) - 1))).ToString(CultureInfo.InvariantCulture);

    private long Next()
    {
        var now = Math.Max(0, (long)(time.GetUtcNow() - Epoch).TotalMilliseconds) << SequenceBits;
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
