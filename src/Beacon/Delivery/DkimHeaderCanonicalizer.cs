using System.Buffers;

namespace Beacon.Delivery;

/// <summary>RFC 6376 §3.4.1 simple and §3.4.2 relaxed header canonicalisation of one raw field.</summary>
internal static class DkimHeaderCanonicalizer
{
    /// <summary>
    /// Appends the canonical form of <paramref name="field"/> (name, colon, value, line breaks) to
    /// <paramref name="output"/>. Line breaks are written as CRLF, as they go on the wire; with
    /// <paramref name="withLineBreak"/> false the field's final line break is left out (the signature's own field).
    /// </summary>
    public static void Append(ReadOnlySpan<byte> field, DkimCanonicalization canonicalization, bool withLineBreak, ArrayBufferWriter<byte> output)
    {
        field = TrimLineBreak(field);
        if (canonicalization == DkimCanonicalization.Simple)
            AppendSimple(field, output);
        else
            AppendRelaxed(field, output);
        if (withLineBreak)
            output.Write("\r\n"u8);
    }

    private static void AppendSimple(ReadOnlySpan<byte> field, ArrayBufferWriter<byte> output)
    {
        // Only a lone LF changes: a folded line break goes on the wire as CRLF.
        while (!field.IsEmpty)
        {
            int lf = field.IndexOf((byte)'\n');
            if (lf < 0)
            {
                output.Write(field);
                return;
            }

            output.Write(field[..(lf > 0 && field[lf - 1] == '\r' ? lf - 1 : lf)]);
            output.Write("\r\n"u8);
            field = field[(lf + 1)..];
        }
    }

    /// <summary>Name lower-cased and without trailing WSP; value unfolded, WSP runs as one SP, no WSP at either end.</summary>
    private static void AppendRelaxed(ReadOnlySpan<byte> field, ArrayBufferWriter<byte> output)
    {
        int colon = field.IndexOf((byte)':');
        ReadOnlySpan<byte> name = field[..colon].TrimEnd(" \t"u8);
        Span<byte> lower = output.GetSpan(name.Length);
        for (int i = 0; i < name.Length; i++)
            lower[i] = name[i] is >= (byte)'A' and <= (byte)'Z' ? (byte)(name[i] + 32) : name[i];
        output.Advance(name.Length);
        output.Write(":"u8);

        bool space = false;
        bool started = false;
        foreach (byte b in field[(colon + 1)..])
        {
            if (b is (byte)'\r' or (byte)'\n')
                continue; // unfolding; the WSP that follows a fold is kept and collapsed below
            if (b is (byte)' ' or (byte)'\t')
            {
                space = started;
                continue;
            }

            if (space)
                output.Write(" "u8);
            output.Write([b]);
            space = false;
            started = true;
        }
    }

    private static ReadOnlySpan<byte> TrimLineBreak(ReadOnlySpan<byte> field)
    {
        if (field.EndsWith("\n"u8))
            field = field[..^1];
        if (field.EndsWith("\r"u8))
            field = field[..^1];
        return field;
    }
}
