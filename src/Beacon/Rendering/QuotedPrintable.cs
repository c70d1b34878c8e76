namespace Beacon.Rendering;

/// <summary>
/// Quoted-printable (RFC 2045 §6.7). Decoding is strict — an <c>=</c> not followed by two hex digits or a line
/// break means the part is broken and goes out unchanged — and keeps hard line breaks as the bytes they were, so
/// encoding the decoded text again with the part's newline gives back the same decoded text.
/// </summary>
internal static class QuotedPrintable
{
    /// <summary>RFC 2045 §6.7 rule 5: encoded lines are at most 76 characters, the soft break's <c>=</c> included.</summary>
    public const int MaxLineLength = 76;

    private static readonly byte[] Hex = "0123456789ABCDEF"u8.ToArray();

    /// <summary>Decodes into <paramref name="destination"/> (at least as long as the source); false when malformed.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        written = 0;
        int i = 0;
        while (i < source.Length)
        {
            int eq = source[i..].IndexOf((byte)'=');
            int run = eq < 0 ? source.Length - i : eq;
            source.Slice(i, run).CopyTo(destination[written..]);
            written += run;
            i += run;
            if (eq < 0)
                break;
            if (i + 2 < source.Length && IsHex(source[i + 1]) && IsHex(source[i + 2]))
            {
                destination[written++] = (byte)((HexValue(source[i + 1]) << 4) | HexValue(source[i + 2]));
                i += 3;
                continue;
            }

            // A soft line break: "=" then optional transport padding (spaces, tabs) then CRLF or LF, or the end.
            int j = i + 1;
            while (j < source.Length && source[j] is (byte)' ' or (byte)'\t')
                j++;
            if (j == source.Length)
                i = j;
            else if (source[j] == '\n')
                i = j + 1;
            else if (source[j] == '\r' && j + 1 < source.Length && source[j + 1] == '\n')
                i = j + 2;
            else
                return false;
        }

        return true;
    }

    /// <summary>Encodes text whose hard line breaks are <paramref name="newline"/>; other CR and LF bytes are escaped.</summary>
    public static void Encode(ReadOnlySpan<byte> data, ReadOnlySpan<byte> newline, OutputBuffer output)
    {
        int lineLength = 0;
        int i = 0;
        while (i < data.Length)
        {
            if (data[i..].StartsWith(newline))
            {
                output.Write(newline);
                lineLength = 0;
                i += newline.Length;
                continue;
            }

            byte b = data[i];
            bool atLineEnd = i + 1 == data.Length || data[(i + 1)..].StartsWith(newline);
            bool literal = (b >= 33 && b <= 126 && b != '=') || (b is (byte)' ' or (byte)'\t' && !atLineEnd);
            int width = literal ? 1 : 3;

            // Keep room for the soft break's "=" unless this is the last character of the line.
            int limit = atLineEnd ? MaxLineLength : MaxLineLength - 1;
            if (lineLength + width > limit)
            {
                output.Write((byte)'=');
                output.Write(newline);
                lineLength = 0;
            }

            if (literal)
            {
                output.Write(b);
            }
            else
            {
                Span<byte> escape = output.GetSpan(3);
                escape[0] = (byte)'=';
                escape[1] = Hex[b >> 4];
                escape[2] = Hex[b & 0xF];
                output.Advance(3);
            }

            lineLength += width;
            i++;
        }
    }

    private static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
