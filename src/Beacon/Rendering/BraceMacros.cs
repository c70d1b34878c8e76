using System.Text;

namespace Beacon.Rendering;

/// <summary>
/// The six brace macros of the template language (spec §F10.2): <c>{{opening_double_curly()}}</c> → <c>{{</c> and
/// so on, white space inside the braces ignored. Per spec §5 Q9 nothing else is evaluated: any other
/// <c>{{…}}</c> passes through unchanged.
/// </summary>
internal static class BraceMacros
{
    // "{{ opening_triple_curly ( ) }}" is the longest form worth looking at; a longer span is not a macro.
    private const int MaxMacroLength = 64;

    private static readonly (byte[] Name, byte[] Text)[] Macros =
    [
        ("opening_single_curly()"u8.ToArray(), "{"u8.ToArray()),
        ("closing_single_curly()"u8.ToArray(), "}"u8.ToArray()),
        ("opening_double_curly()"u8.ToArray(), "{{"u8.ToArray()),
        ("closing_double_curly()"u8.ToArray(), "}}"u8.ToArray()),
        ("opening_triple_curly()"u8.ToArray(), "{{{"u8.ToArray()),
        ("closing_triple_curly()"u8.ToArray(), "}}}"u8.ToArray()),
    ];

    /// <summary>Adds a replacement for every macro in <paramref name="content"/>.</summary>
    public static void AddEdits(ReadOnlySpan<byte> content, EditList edits)
    {
        int from = 0;
        while (from < content.Length)
        {
            int i = content[from..].IndexOf("{{"u8);
            if (i < 0)
                return;
            int start = from + i;
            if (TryMatch(content[start..], out int length, out byte[]? text))
            {
                edits.Replace(start, length, text!);
                from = start + length;
            }
            else
            {
                from = start + 1;
            }
        }
    }

    /// <summary>Expands the macros in a link target before it is sealed, so the redirect goes where the sender meant.</summary>
    public static string Expand(string value)
    {
        if (!value.Contains("{{", StringComparison.Ordinal))
            return value;
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        var edits = new EditList();
        AddEdits(bytes, edits);
        if (edits.Count == 0)
            return value;
        byte[] result = new byte[edits.Prepare(bytes.Length)];
        edits.Apply(bytes, result);
        return Encoding.UTF8.GetString(result);
    }

    private static bool TryMatch(ReadOnlySpan<byte> at, out int length, out byte[]? text)
    {
        length = 0;
        text = null;
        ReadOnlySpan<byte> window = at[2..Math.Min(at.Length, MaxMacroLength)];
        int close = window.IndexOf("}}"u8);
        if (close < 0)
            return false;
        Span<byte> name = stackalloc byte[MaxMacroLength];
        int n = 0;
        foreach (byte b in window[..close])
        {
            if (!HtmlTokenizer.IsWhiteSpace(b))
                name[n++] = b;
        }

        foreach ((byte[] macro, byte[] replacement) in Macros)
        {
            if (name[..n].SequenceEqual(macro))
            {
                length = close + 4;
                text = replacement;
                return true;
            }
        }

        return false;
    }
}
