using System.Text;

namespace Beacon.Rendering;

/// <summary>
/// Edits a raw header block (RFC 5322 §2.2: a field is a line not starting with white space plus its folded
/// continuation lines; the block ends with an empty line) by dropping named fields and, when a part's encoding
/// changes, replacing or adding its Content-Transfer-Encoding. Every other byte, including malformed lines, is
/// written as it was.
/// </summary>
internal static class HeaderBlock
{
    /// <returns>The number of fields removed by <paramref name="remove"/>, and of those removed by <paramref name="alsoRemove"/> (counted apart: they are signatures, reported on their own).</returns>
    public static (int Removed, int AlsoRemoved) Write(ReadOnlySpan<byte> block, IReadOnlyList<string> remove, string? transferEncoding,
        ReadOnlySpan<byte> newline, OutputBuffer output, IReadOnlyList<string>? alsoRemove = null)
    {
        int removed = 0;
        int alsoRemoved = 0;
        bool encodingWritten = transferEncoding is null;
        int i = 0;
        while (i < block.Length)
        {
            int end = LineEnd(block, i);
            ReadOnlySpan<byte> line = block[i..end];
            if (IsBlank(line))
            {
                WriteEncoding(ref encodingWritten, transferEncoding, newline, output);
                output.Write(block[i..]);
                return (removed, alsoRemoved);
            }

            while (end < block.Length && block[end] is (byte)' ' or (byte)'\t')
                end = LineEnd(block, end);
            ReadOnlySpan<byte> field = block[i..end];
            ReadOnlySpan<byte> name = FieldName(field);
            if (Matches(name, remove))
            {
                removed++;
            }
            else if (alsoRemove is not null && Matches(name, alsoRemove))
            {
                alsoRemoved++;
            }
            else if (transferEncoding is not null && Ascii.EqualsIgnoreCase(name, "Content-Transfer-Encoding"u8))
            {
                WriteEncoding(ref encodingWritten, transferEncoding, newline, output);
            }
            else
            {
                output.Write(field);
            }

            i = end;
        }

        // No empty line: a block that ends at the end of the message. The new field still belongs in it.
        WriteEncoding(ref encodingWritten, transferEncoding, newline, output);
        return (removed, alsoRemoved);
    }

    /// <summary>The newline a block uses, from its first line ending (CRLF on the wire and in the spool).</summary>
    public static byte[] DetectNewline(ReadOnlySpan<byte> block)
    {
        int lf = block.IndexOf((byte)'\n');
        return lf > 0 && block[lf - 1] == '\r' ? "\r\n"u8.ToArray() : "\n"u8.ToArray();
    }

    /// <summary>Length of the header block at the start of a message MimeKit could not parse: up to and including the first empty line.</summary>
    public static int FindEnd(ReadOnlySpan<byte> message)
    {
        int i = 0;
        while (i < message.Length)
        {
            int end = LineEnd(message, i);
            if (IsBlank(message[i..end]))
                return end;
            i = end;
        }

        return message.Length;
    }

    private static void WriteEncoding(ref bool written, string? transferEncoding, ReadOnlySpan<byte> newline, OutputBuffer output)
    {
        if (written)
            return;
        output.Write(Encoding.ASCII.GetBytes("Content-Transfer-Encoding: " + transferEncoding));
        output.Write(newline);
        written = true;
    }

    private static bool Matches(ReadOnlySpan<byte> name, IReadOnlyList<string> remove)
    {
        if (name.IsEmpty)
            return false;
        foreach (string candidate in remove)
        {
            if (name.Length == candidate.Length && Ascii.EqualsIgnoreCase(name, candidate))
                return true;
        }

        return false;
    }

    private static ReadOnlySpan<byte> FieldName(ReadOnlySpan<byte> field)
    {
        int colon = field.IndexOf((byte)':');
        if (colon <= 0)
            return default;
        return field[..colon].TrimEnd(" \t"u8);
    }

    private static int LineEnd(ReadOnlySpan<byte> block, int start)
    {
        int lf = block[start..].IndexOf((byte)'\n');
        return lf < 0 ? block.Length : start + lf + 1;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.SequenceEqual("\n"u8) || line.SequenceEqual("\r\n"u8);
}
