using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace Beacon.Events;

/// <summary>
/// One record of the <see cref="EventJournal"/>: [payload length u32][CRC-32 of the payload u32][payload], the payload
/// being [type u8][timestamp, Unix ms, i64][7 indexed fields, each an i32 UTF-8 length (-1: absent) and the bytes]
/// [the Momentum JSON, UTF-8, to the end]. Little-endian. The event's JSON is written straight into the batch as
/// UTF-8, never as a .NET string: the journal writer is on the hot path of every click.
/// </summary>
internal static class JournalRecord
{
    public const int HeaderSize = 8;
    public const int MaxPayload = 16 * 1024 * 1024;

    /// <summary>Appends <paramref name="item"/>'s record to <paramref name="buffer"/>; <paramref name="json"/> is reused.</summary>
    public static void Encode(BeaconEvent item, JournalBuffer buffer, Utf8JsonWriter json)
    {
        var start = buffer.Length;
        buffer.Advance(HeaderSize);
        var head = buffer.GetSpan(9);
        head[0] = (byte)item.Type;
        BinaryPrimitives.WriteInt64LittleEndian(head[1..], item.Timestamp.ToUnixTimeMilliseconds());
        buffer.Advance(9);
        var keys = item.Keys();
        foreach (var field in (ReadOnlySpan<string?>)[keys.MessageId, keys.TransmissionId, keys.CampaignId, keys.Recipient, keys.LinkName, keys.LinkUrl, keys.Classification])
        {
            var length = field is null ? -1 : Encoding.UTF8.GetByteCount(field);
            var span = buffer.GetSpan(4 + Math.Max(length, 0));
            BinaryPrimitives.WriteInt32LittleEndian(span, length);
            if (field is not null)
            {
                Encoding.UTF8.GetBytes(field, span[4..]);
            }

            buffer.Advance(4 + Math.Max(length, 0));
        }

        json.Reset(buffer);
        item.WriteJson(json);
        var record = buffer.Written[start..];
        var payload = record[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], Crc32.HashToUInt32(payload));
    }

    /// <summary>The payload's event, or null when it does not parse (a CRC that matched bytes of another shape).</summary>
    public static EventRecord? Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 9)
        {
            return null;
        }

        var type = (EventType)payload[0];
        var timestamp = BinaryPrimitives.ReadInt64LittleEndian(payload[1..]);
        var rest = payload[9..];
        var fields = new string?[7];
        for (var i = 0; i < fields.Length; i++)
        {
            if (rest.Length < 4)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(rest);
            rest = rest[4..];
            if (length < -1 || length > rest.Length)
            {
                return null;
            }

            fields[i] = length < 0 ? null : Encoding.UTF8.GetString(rest[..length]);
            rest = rest[Math.Max(length, 0)..];
        }

        if (!Enum.IsDefined(type) || timestamp < -62135596800000 || timestamp > 253402300799999)
        {
            return null;
        }

        return new EventRecord(type, DateTimeOffset.FromUnixTimeMilliseconds(timestamp),
            fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], Encoding.UTF8.GetString(rest));
    }
}

/// <summary>A growable byte buffer whose written bytes stay writable (the journal patches each record's header).</summary>
internal sealed class JournalBuffer : IBufferWriter<byte>
{
    private byte[] _bytes = new byte[64 * 1024];

    public int Length { get; private set; }

    public Span<byte> Written => _bytes.AsSpan(0, Length);

    public void Clear() => Length = 0;

    public void Advance(int count) => Length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _bytes.AsMemory(Length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _bytes.AsSpan(Length);
    }

    private void Ensure(int sizeHint)
    {
        var needed = Length + Math.Max(sizeHint, 256);
        if (needed > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(needed, _bytes.Length * 2));
        }
    }
}
