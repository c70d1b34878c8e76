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

    private static readonly sbyte[] HexValues = Enumerable.Range(0, 256)
        .Select(static b => (sbyte)(char.IsAsciiHexDigit((char)b) ? Convert.ToInt32(((char)b).ToString(), 16) : -1)).ToArray();

    // RFC 2045 §6.7 rule 2: printable ASCII except "=" stands for itself.
    private static readonly bool[] Literal = Enumerable.Range(0, 256).Select(static b => b is >= 33 and <= 126 and not '=').ToArray();

    /// <summary>Decodes into <paramref name="destination"/> (at least as long as the source); false when malformed.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> destination, out int written) =>
        TryDecode(source, destination, out written, null);

    /// <summary>As above, recording where each hard line ends in both the decoded and the encoded text.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> destination, out int written, LineMap? lines)
    {
        int o = 0;
        int i = 0;
        int length = source.Length;
        while (i < length)
        {
            byte b = source[i];
            if (b != '=')
            {
                destination[o++] = b;
                i++;
                if (b == '\n')
                    lines?.Add(o, i);
                continue;
            }

            int high = i + 1 < length ? HexValues[source[i + 1]] : -1;
            int low = i + 2 < length ? HexValues[source[i + 2]] : -1;
            if ((high | low) >= 0)
            {
                destination[o++] = (byte)((high << 4) | low);
                i += 3;
                continue;
            }

            // A soft line break: "=" then optional transport padding (spaces, tabs) then CRLF or LF, or the end.
            int j = i + 1;
            while (j < length && source[j] is (byte)' ' or (byte)'\t')
                j++;
            if (j == length)
                i = j;
            else if (source[j] == '\n')
                i = j + 1;
            else if (source[j] == '\r' && j + 1 < length && source[j + 1] == '\n')
                i = j + 2;
            else
            {
                written = o;
                return false;
            }
        }

        written = o;
        return true;
    }

    /// <summary>Encodes text whose hard line breaks are <paramref name="newline"/>; other CR and LF bytes are escaped.</summary>
    public static void Encode(ReadOnlySpan<byte> data, ReadOnlySpan<byte> newline, OutputBuffer output)
    {
        while (true)
        {
            int lf = data.IndexOf(newline);
            EncodeLine(lf < 0 ? data : data[..lf], newline, output);
            if (lf < 0)
                return;
            output.Write(newline);
            data = data[(lf + newline.Length)..];
        }
    }

    /// <summary>One hard line, in chunks so the worst case (every byte escaped, a soft break every 25) fits the buffer.</summary>
    private static void EncodeLine(ReadOnlySpan<byte> line, ReadOnlySpan<byte> newline, OutputBuffer output)
    {
        const int Chunk = 4096;
        int lineLength = 0;
        for (int start = 0; start < line.Length; start += Chunk)
        {
            int end = Math.Min(line.Length, start + Chunk);
            Span<byte> destination = output.GetSpan(Chunk * 3 + (Chunk / 25 + 1) * 3);
            int o = 0;
            for (int i = start; i < end; i++)
            {
                byte b = line[i];
                bool last = i == line.Length - 1;
                bool literal = Literal[b] || (b is (byte)' ' or (byte)'\t' && !last);
                int width = literal ? 1 : 3;

                // Keep room for the soft break's "=" unless this is the last character of the line.
                if (lineLength + width > (last ? MaxLineLength : MaxLineLength - 1))
                {
                    destination[o++] = (byte)'=';
                    newline.CopyTo(destination[o..]);
                    o += newline.Length;
                    lineLength = 0;
                }

                if (literal)
                {
                    destination[o++] = b;
                }
                else
                {
                    destination[o] = (byte)'=';
                    destination[o + 1] = Hex[b >> 4];
                    destination[o + 2] = Hex[b & 0xF];
                    o += 3;
                }

                lineLength += width;
            }

            output.Advance(o);
        }
    }

}
