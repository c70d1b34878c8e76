using System.Buffers.Text;

namespace Beacon.Rendering;

/// <summary>Base64 bodies (RFC 2045 §6.8): strict decoding, and encoding in 76-character lines.</summary>
internal static class Base64Body
{
    private const int BytesPerLine = 57;

    private static readonly sbyte[] Values = BuildValues();

    /// <summary>
    /// Decodes, ignoring line breaks and spaces; false for any other character outside the alphabet, data after
    /// padding, or a lone trailing character (a truncated part). A missing final padding is tolerated.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        written = 0;
        int accumulator = 0;
        int count = 0;
        bool padding = false;
        foreach (byte b in source)
        {
            if (b is (byte)'\r' or (byte)'\n' or (byte)' ' or (byte)'\t')
                continue;
            if (b == '=')
            {
                padding = true;
                continue;
            }

            int value = Values[b];
            if (value < 0 || padding)
                return false;
            accumulator = (accumulator << 6) | value;
            if (++count == 4)
            {
                destination[written++] = (byte)(accumulator >> 16);
                destination[written++] = (byte)(accumulator >> 8);
                destination[written++] = (byte)accumulator;
                accumulator = 0;
                count = 0;
            }
        }

        switch (count)
        {
            case 1:
                return false;
            case 2:
                destination[written++] = (byte)(accumulator >> 4);
                break;
            case 3:
                destination[written++] = (byte)(accumulator >> 10);
                destination[written++] = (byte)(accumulator >> 2);
                break;
        }

        return true;
    }

    public static void Encode(ReadOnlySpan<byte> data, ReadOnlySpan<byte> newline, bool endWithNewline, OutputBuffer output)
    {
        for (int i = 0; i < data.Length; i += BytesPerLine)
        {
            ReadOnlySpan<byte> chunk = data.Slice(i, Math.Min(BytesPerLine, data.Length - i));
            Span<byte> line = output.GetSpan(80);
            Base64.EncodeToUtf8(chunk, line, out _, out int encoded);
            output.Advance(encoded);
            if (i + BytesPerLine < data.Length || endWithNewline)
                output.Write(newline);
        }
    }

    private static sbyte[] BuildValues()
    {
        var values = new sbyte[256];
        Array.Fill(values, (sbyte)-1);
        ReadOnlySpan<byte> alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"u8;
        for (int i = 0; i < alphabet.Length; i++)
            values[alphabet[i]] = (sbyte)i;
        return values;
    }
}
