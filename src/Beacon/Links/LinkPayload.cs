using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Unicode;

namespace Beacon.Links;

/// <summary>
/// The plaintext inside a token (docs/tracking-links.md, "Payload"): one compression byte, then the fields as
/// varints and length-prefixed UTF-8, announced by a presence bitmap so absent fields cost nothing.
/// <code>
/// plaintext = compression:u8 body           ; 0 stored, 1 brotli (RFC 7932)
/// body      = presence:varint message_id:10 expires_at:varint
///             [transmission_id:varint | transmission_id:str] [customer_id:str] recipient:str [campaign_id:str]
///             [tags:varint str*] [metadata:str] [target:str] [link_name:str] [node_name:str] [rendered_at:varint]
/// str       = length:varint utf-8
/// </code>
/// Bodies of <see cref="CompressFrom"/> bytes or more are compressed with Brotli at quality 5, kept only when
/// shorter. Measured (docs/tracking-links.md): Brotli's built-in dictionary of web text beats deflate by 10–25% on
/// these payloads; quality 5 is within 1% of quality 11 at a twentieth of the time (65 µs against 1.4 ms); smaller
/// bodies (ids and a short URL) never shrink by more than a byte or two.
/// </summary>
internal static class LinkPayload
{
    /// <summary>An authentic payload never decompresses past this; a larger one is rejected, not allocated.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Smaller bodies are stored: compression would save at most a byte or two, at 50 µs a link.</summary>
    public const int CompressFrom = 128;

    private const byte Stored = 0;
    private const byte Brotli = 1;
    private const int BrotliQuality = 5;
    private const int BrotliWindow = 12;

    [Flags]
    private enum Field
    {
        TransmissionNumber = 1 << 0,
        TransmissionText = 1 << 1,
        CustomerId = 1 << 2,
        CampaignId = 1 << 3,
        Tags = 1 << 4,
        Metadata = 1 << 5,
        Target = 1 << 6,
        LinkName = 1 << 7,
        NodeName = 1 << 8,
        Unsubscribe = 1 << 9,
        RenderedAt = 1 << 10,
        All = (1 << 11) - 1,
    }

    /// <summary>Serialises and compresses. Throws <see cref="ArgumentException"/> for a link no event could come from.</summary>
    public static byte[] Write(TrackedLink link)
    {
        var body = WriteBody(link);
        var (compression, content) = (Stored, body);
        if (body.Length >= CompressFrom && CompressBrotli(body) is { } brotli && brotli.Length < body.Length)
        {
            (compression, content) = (Brotli, brotli);
        }

        var result = new byte[content.Length + 1];
        result[0] = compression;
        content.CopyTo(result, 1);
        return result;
    }

    /// <summary>Never throws: anything that is not a well-formed payload of <paramref name="kind"/> is false.</summary>
    public static bool TryRead(ReadOnlySpan<byte> plaintext, LinkKind kind, out TrackedLink? link)
    {
        link = null;
        if (plaintext.IsEmpty)
        {
            return false;
        }

        var compressed = plaintext[1..];
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> body;
            switch (plaintext[0])
            {
                case Stored:
                    body = compressed;
                    break;
                case Brotli:
                    rented = ArrayPool<byte>.Shared.Rent(MaxBodyBytes);
                    if (!BrotliDecoder.TryDecompress(compressed, rented.AsSpan(0, MaxBodyBytes), out var length))
                    {
                        return false;
                    }

                    body = rented.AsSpan(0, length);
                    break;
                default:
                    return false;
            }

            return TryReadBody(body, kind, out link);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static byte[] WriteBody(TrackedLink link)
    {
        if (!IsMessageId(link.MessageId))
        {
            throw new ArgumentException($"message id '{link.MessageId}' is not 20 lowercase hex characters", nameof(link));
        }

        if ((link.Kind == LinkKind.Click) != (link.Target is not null) || !Enum.IsDefined(link.Kind))
        {
            throw new ArgumentException("a click link needs a target and an open link has none", nameof(link));
        }

        if (link.RenderedAt is < 0)
        {
            throw new ArgumentException($"rendered_at {link.RenderedAt} is before 1970", nameof(link));
        }

        var writer = new ArrayBufferWriter<byte>(256);
        var transmission = 0UL;
        var fields = (link.TransmissionId is null ? 0
                : IsCanonicalDecimal(link.TransmissionId, out transmission) ? Field.TransmissionNumber : Field.TransmissionText)
            | (link.CustomerId is null ? 0 : Field.CustomerId)
            | (link.CampaignId is null ? 0 : Field.CampaignId)
            | (link.Tags.Count == 0 ? 0 : Field.Tags)
            | (link.Metadata is null ? 0 : Field.Metadata)
            | (link.Target is null ? 0 : Field.Target)
            | (link.LinkName is null ? 0 : Field.LinkName)
            | (link.NodeName is null ? 0 : Field.NodeName)
            | (link.Unsubscribe ? Field.Unsubscribe : 0)
            | (link.RenderedAt is null ? 0 : Field.RenderedAt);
        WriteVarint(writer, (ulong)fields);
        Convert.FromHexString(link.MessageId, writer.GetSpan(10), out _, out _);
        writer.Advance(10);
        WriteVarint(writer, (ulong)link.ExpiresAt);
        if ((fields & Field.TransmissionNumber) != 0)
        {
            WriteVarint(writer, transmission);
        }

        WriteString(writer, (fields & Field.TransmissionText) != 0 ? link.TransmissionId : null);
        WriteString(writer, link.CustomerId);
        WriteString(writer, link.Recipient);
        WriteString(writer, link.CampaignId);
        if (link.Tags.Count > 0)
        {
            WriteVarint(writer, (ulong)link.Tags.Count);
            foreach (var tag in link.Tags)
            {
                WriteString(writer, tag);
            }
        }

        WriteString(writer, link.Metadata);
        WriteString(writer, link.Target);
        WriteString(writer, link.LinkName);
        WriteString(writer, link.NodeName);
        if (link.RenderedAt is { } rendered)
        {
            WriteVarint(writer, (ulong)rendered);
        }

        return writer.WrittenSpan.ToArray();
    }

    private static bool TryReadBody(ReadOnlySpan<byte> body, LinkKind kind, out TrackedLink? link)
    {
        link = null;
        var reader = new Reader(body);
        if (!reader.TryVarint(out var presence) || (presence & ~(ulong)Field.All) != 0 || !reader.TryBytes(10, out var messageId) ||
            !reader.TryVarint(out var expires) || expires > long.MaxValue)
        {
            return false;
        }

        var fields = (Field)presence;
        string? transmission = null;
        if ((fields & (Field.TransmissionNumber | Field.TransmissionText)) == (Field.TransmissionNumber | Field.TransmissionText))
        {
            return false;
        }

        if ((fields & Field.TransmissionNumber) != 0)
        {
            if (!reader.TryVarint(out var number))
            {
                return false;
            }

            transmission = number.ToString(CultureInfo.InvariantCulture);
        }

        if (!reader.TryOptional(fields, Field.TransmissionText, ref transmission) ||
            !reader.TryString(fields, Field.CustomerId, out var customer) ||
            !reader.TryString(out var recipient) ||
            !reader.TryString(fields, Field.CampaignId, out var campaign))
        {
            return false;
        }

        var tags = new List<string>();
        if ((fields & Field.Tags) != 0)
        {
            // Each tag takes at least its length byte, so a count beyond the remaining bytes is a lie.
            if (!reader.TryVarint(out var count) || count == 0 || count > (ulong)reader.Remaining)
            {
                return false;
            }

            for (var i = 0UL; i < count; i++)
            {
                if (!reader.TryString(out var tag))
                {
                    return false;
                }

                tags.Add(tag);
            }
        }

        if (!reader.TryString(fields, Field.Metadata, out var metadata) ||
            !reader.TryString(fields, Field.Target, out var target) ||
            !reader.TryString(fields, Field.LinkName, out var linkName) ||
            !reader.TryString(fields, Field.NodeName, out var node))
        {
            return false;
        }

        // Last, so that tokens sealed before the field existed read exactly as they did.
        ulong rendered = 0;
        if (((fields & Field.RenderedAt) != 0 && (!reader.TryVarint(out rendered) || rendered > long.MaxValue)) ||
            reader.Remaining != 0 || (kind == LinkKind.Click) != (target is not null))
        {
            return false;
        }

        link = new TrackedLink
        {
            Kind = kind,
            MessageId = Convert.ToHexStringLower(messageId),
            TransmissionId = transmission,
            CustomerId = customer,
            Recipient = recipient,
            CampaignId = campaign,
            Tags = tags,
            Metadata = metadata,
            Target = target,
            LinkName = linkName,
            Unsubscribe = (fields & Field.Unsubscribe) != 0,
            ExpiresAt = (long)expires,
            NodeName = node,
            RenderedAt = (fields & Field.RenderedAt) != 0 ? (long)rendered : null,
        };
        return true;
    }

    private static bool IsMessageId(string id) => id.Length == 20 && id.All(char.IsAsciiHexDigitLower);

    /// <summary>Only text that prints back identically ("0" or no leading zero, no sign) may travel as a number.</summary>
    private static bool IsCanonicalDecimal(string text, out ulong value) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value.ToString(CultureInfo.InvariantCulture) == text;

    private static byte[]? CompressBrotli(byte[] body)
    {
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(body.Length)];
        return BrotliEncoder.TryCompress(body, buffer, out var written, BrotliQuality, BrotliWindow) ? buffer[..written] : null;
    }

    private static void WriteVarint(ArrayBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(10);
        var i = 0;
        for (; value >= 0x80; value >>= 7)
        {
            span[i++] = (byte)(value | 0x80);
        }

        span[i++] = (byte)value;
        writer.Advance(i);
    }

    private static void WriteString(ArrayBufferWriter<byte> writer, string? value)
    {
        if (value is null)
        {
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarint(writer, (ulong)length);
        Encoding.UTF8.GetBytes(value, writer.GetSpan(length));
        writer.Advance(length);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        public readonly int Remaining => _data.Length;

        /// <summary>Unsigned LEB128, at most 10 bytes, no overflow, no redundant trailing zero groups.</summary>
        public bool TryVarint(out ulong value)
        {
            value = 0;
            for (var i = 0; i < 10 && i < _data.Length; i++)
            {
                var b = _data[i];
                if (i == 9 && b > 1)
                {
                    return false;
                }

                value |= (ulong)(b & 0x7F) << (7 * i);
                if (b < 0x80)
                {
                    if (i > 0 && b == 0)
                    {
                        return false;
                    }

                    _data = _data[(i + 1)..];
                    return true;
                }
            }

            return false;
        }

        public bool TryBytes(int count, out ReadOnlySpan<byte> bytes)
        {
            bytes = default;
            if (count > _data.Length)
            {
                return false;
            }

            bytes = _data[..count];
            _data = _data[count..];
            return true;
        }

        public bool TryString(out string value)
        {
            value = string.Empty;
            if (!TryVarint(out var length) || length > (ulong)_data.Length || !TryBytes((int)length, out var bytes) || !Utf8.IsValid(bytes))
            {
                return false;
            }

            value = Encoding.UTF8.GetString(bytes);
            return true;
        }

        public bool TryString(Field fields, Field field, out string? value)
        {
            value = null;
            return TryOptional(fields, field, ref value);
        }

        public bool TryOptional(Field fields, Field field, ref string? value)
        {
            if ((fields & field) == 0)
            {
                return true;
            }

            if (!TryString(out var text))
            {
                return false;
            }

            value = text;
            return true;
        }
    }
}
