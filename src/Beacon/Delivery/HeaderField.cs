using System.Text;

namespace Beacon.Delivery;

/// <summary>One raw header field of a block (RFC 5322 §2.2): its name and where its bytes are, folded lines and the final line break included.</summary>
internal readonly record struct HeaderField(string Name, int Start, int End)
{
    /// <summary>
    /// Splits a header block into fields, stopping at the empty line (or at the end of <paramref name="block"/>).
    /// <paramref name="length"/> is the length of the block with its empty line: where the body begins. A line
    /// without a colon is kept as a field with an empty name, which nothing ever signs.
    /// </summary>
    public static List<HeaderField> Parse(ReadOnlySpan<byte> block, out int length)
    {
        var fields = new List<HeaderField>();
        int i = 0;
        while (i < block.Length)
        {
            int end = LineEnd(block, i);
            ReadOnlySpan<byte> line = block[i..end];
            if (line.SequenceEqual("\n"u8) || line.SequenceEqual("\r\n"u8))
            {
                length = end;
                return fields;
            }

            while (end < block.Length && block[end] is (byte)' ' or (byte)'\t')
                end = LineEnd(block, end);
            int colon = line.IndexOf((byte)':');
            string name = colon <= 0 ? string.Empty : Encoding.ASCII.GetString(line[..colon].TrimEnd(" \t"u8));
            fields.Add(new HeaderField(name, i, end));
            i = end;
        }

        length = block.Length;
        return fields;
    }

    /// <summary>Where the line starting at <paramref name="start"/> ends, after its LF; the end of the span if none.</summary>
    public static int LineEnd(ReadOnlySpan<byte> block, int start)
    {
        int lf = block[start..].IndexOf((byte)'\n');
        return lf < 0 ? block.Length : start + lf + 1;
    }
}
