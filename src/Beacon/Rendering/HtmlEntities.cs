using System.Globalization;
using System.Net;
using System.Text;

namespace Beacon.Rendering;

/// <summary>
/// Character references in attribute values (HTML Living Standard §13.2.5.72–80), so that
/// <c>href="https://x.example/?a=1&amp;amp;b=2"</c> is sealed as <c>…?a=1&amp;b=2</c>: an <c>&amp;amp;</c> must never
/// reach a redirect. Named references use the HTML 4 table of <see cref="WebUtility.HtmlDecode(string)"/> (every
/// name a URL realistically contains); a name without its <c>;</c> is decoded only for the legacy
/// <c>amp lt gt quot</c> and, as the standard says for attributes, not when a letter, digit or <c>=</c> follows.
/// </summary>
internal static class HtmlEntities
{
    public static string DecodeAttribute(string value)
    {
        int amp = value.IndexOf('&', StringComparison.Ordinal);
        if (amp < 0)
            return value;
        var builder = new StringBuilder(value.Length);
        builder.Append(value, 0, amp);
        int i = amp;
        while (i < value.Length)
        {
            char c = value[i];
            if (c != '&')
            {
                builder.Append(c);
                i++;
                continue;
            }

            i = i + 1 < value.Length && value[i + 1] == '#'
                ? DecodeNumeric(value, i, builder)
                : DecodeNamed(value, i, builder);
        }

        return builder.ToString();
    }

    /// <summary>Escapes a value for an attribute quoted with <paramref name="quote"/> (0 = unquoted, then quoted with <c>"</c> if needed).</summary>
    public static string EscapeAttribute(string value, ref byte quote)
    {
        if (quote == 0 && value.AsSpan().IndexOfAny(" \t\n\f\r\"'=<>`") >= 0)
            quote = (byte)'"';
        if (value.AsSpan().IndexOfAny(quote == '\'' ? "&'" : "&\"") < 0)
            return value;
        var builder = new StringBuilder(value.Length + 16);
        foreach (char c in value)
        {
            switch (c)
            {
                case '&': builder.Append("&amp;"); break;
                case '"' when quote != '\'': builder.Append("&quot;"); break;
                case '\'' when quote == '\'': builder.Append("&#39;"); break;
                default: builder.Append(c); break;
            }
        }

        return builder.ToString();
    }

    private static int DecodeNumeric(string value, int amp, StringBuilder builder)
    {
        int i = amp + 2;
        bool hex = i < value.Length && (value[i] == 'x' || value[i] == 'X');
        if (hex)
            i++;
        int digits = i;
        while (i < value.Length && (hex ? char.IsAsciiHexDigit(value[i]) : char.IsAsciiDigit(value[i])))
            i++;
        if (i == digits)
        {
            builder.Append(value, amp, i - amp);
            return i;
        }

        bool parsed = int.TryParse(value.AsSpan(digits, Math.Min(i - digits, 8)), hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None,
            CultureInfo.InvariantCulture, out int code);
        if (!parsed || i - digits > 8 || code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            builder.Append('\uFFFD');
        else
            builder.Append(char.ConvertFromUtf32(code));
        return i < value.Length && value[i] == ';' ? i + 1 : i;
    }

    private static int DecodeNamed(string value, int amp, StringBuilder builder)
    {
        int i = amp + 1;
        while (i < value.Length && char.IsAsciiLetterOrDigit(value[i]))
            i++;
        string name = value[(amp + 1)..i];
        if (name.Length > 0 && i < value.Length && value[i] == ';')
        {
            string reference = value[amp..(i + 1)];
            string decoded = WebUtility.HtmlDecode(reference);
            builder.Append(decoded);
            return i + 1;
        }

        bool followedByEquals = i < value.Length && value[i] == '=';
        string? legacy = followedByEquals ? null : name switch
        {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            _ => null,
        };
        builder.Append(legacy ?? value[amp..i]);
        return i;
    }
}
