using System.Text;

namespace Beacon.Rendering;

/// <summary>
/// Edits for the top text/plain part (spec §F8.4, §5 Q16): every <c>http://</c> or <c>https://</c> URL, ended
/// conservatively — at white space, a control or non-ASCII byte, <c>&lt; &gt; "</c> or <c>[[</c>, and without
/// trailing <c>. , ; : ! ? '</c> or an unbalanced <c>)</c> or <c>]</c> — and the <c>[[data-msys-…]]</c> annotation
/// right after it, which is honoured and removed.
/// </summary>
internal static class TextRewriter
{
    private const int MaxAnnotationLength = 2048;

    public static int AddEdits(ReadOnlySpan<byte> text, RenderOptions options, EditList edits)
    {
        int links = 0;
        int from = 0;
        while (from < text.Length)
        {
            int i = text[from..].IndexOf("://"u8);
            if (i < 0)
                break;
            int separator = from + i;
            from = separator + 3;
            int start = SchemeStart(text, separator);
            if (start < 0)
                continue;
            int rawEnd = separator + 3;
            while (rawEnd < text.Length && !EndsUrl(text, rawEnd))
                rawEnd++;
            int end = TrimTrailing(text, start, separator + 3, rawEnd);
            from = rawEnd;
            if (end == separator + 3)
                continue;

            var annotation = new Annotation();
            if (TryReadAnnotation(text, rawEnd, ref annotation, out int annotationEnd))
            {
                edits.Remove(rawEnd, annotationEnd - rawEnd);
                from = annotationEnd;
            }

            if (!options.ClickTracking || annotation.NoTrack)
                continue;
            string target = BraceMacros.Expand(Encoding.ASCII.GetString(text[start..end]));
            if (!LinkPolicy.IsTrackable(target, options.TrackingDomain))
                continue;
            string tracked = options.ClickUrl(new ClickTarget(target, LinkPolicy.TruncateName(annotation.LinkName),
                annotation.Unsubscribe, string.IsNullOrEmpty(annotation.Sublink) ? null : annotation.Sublink));
            edits.Replace(start, end - start, Encoding.UTF8.GetBytes(tracked));
            links++;
        }

        return links;
    }

    private static int SchemeStart(ReadOnlySpan<byte> text, int separator)
    {
        int start;
        if (separator >= 5 && Ascii.EqualsIgnoreCase(text[(separator - 5)..separator], "https"u8))
            start = separator - 5;
        else if (separator >= 4 && Ascii.EqualsIgnoreCase(text[(separator - 4)..separator], "http"u8))
            start = separator - 4;
        else
            return -1;
        return start > 0 && char.IsAsciiLetterOrDigit((char)text[start - 1]) ? -1 : start;
    }

    private static bool EndsUrl(ReadOnlySpan<byte> text, int i)
    {
        byte b = text[i];
        if (b <= 0x20 || b >= 0x7F || b is (byte)'<' or (byte)'>' or (byte)'"')
            return true;
        return b == '[' && i + 1 < text.Length && text[i + 1] == '[';
    }

    private static int TrimTrailing(ReadOnlySpan<byte> text, int start, int hostStart, int end)
    {
        // Counted once and kept up to date, so a URL followed by a million ")" is still linear.
        int parentheses = text[start..end].Count((byte)'(') - text[start..end].Count((byte)')');
        int brackets = text[start..end].Count((byte)'[') - text[start..end].Count((byte)']');
        while (end > hostStart)
        {
            byte last = text[end - 1];
            if (last is (byte)'.' or (byte)',' or (byte)';' or (byte)':' or (byte)'!' or (byte)'?' or (byte)'\'')
            {
                end--;
            }
            else if (last == ')' && parentheses < 0)
            {
                end--;
                parentheses++;
            }
            else if (last == ']' && brackets < 0)
            {
                end--;
                brackets++;
            }
            else
            {
                break;
            }
        }

        return end;
    }

    /// <summary><c>[[data-msys-name="value" …]]</c> at <paramref name="at"/>; values may be double-, single- or unquoted.</summary>
    private static bool TryReadAnnotation(ReadOnlySpan<byte> text, int at, ref Annotation annotation, out int end)
    {
        end = at;
        ReadOnlySpan<byte> rest = text[at..];
        if (!rest.StartsWith("[["u8) || rest.Length < 12 || !Ascii.EqualsIgnoreCase(rest[2..12], "data-msys-"u8))
            return false;
        int close = rest[..Math.Min(rest.Length, MaxAnnotationLength)].IndexOf("]]"u8);
        if (close < 0)
            return false;
        ReadOnlySpan<byte> body = rest[2..close];
        int i = 0;
        while (i < body.Length)
        {
            while (i < body.Length && HtmlTokenizer.IsWhiteSpace(body[i]))
                i++;
            int nameStart = i;
            while (i < body.Length && body[i] != '=' && !HtmlTokenizer.IsWhiteSpace(body[i]))
                i++;
            ReadOnlySpan<byte> name = body[nameStart..i];
            ReadOnlySpan<byte> value = default;
            if (i < body.Length && body[i] == '=')
            {
                i++;
                byte quote = i < body.Length ? body[i] : (byte)0;
                if (quote is (byte)'"' or (byte)'\'')
                {
                    int q = body[(i + 1)..].IndexOf(quote);
                    int valueEnd = q < 0 ? body.Length : i + 1 + q;
                    value = body[(i + 1)..valueEnd];
                    i = Math.Min(body.Length, valueEnd + 1);
                }
                else
                {
                    int valueStart = i;
                    while (i < body.Length && !HtmlTokenizer.IsWhiteSpace(body[i]))
                        i++;
                    value = body[valueStart..i];
                }
            }

            annotation.Set(name, Encoding.UTF8.GetString(value).Trim());
        }

        end = at + close + 2;
        return true;
    }

    private struct Annotation
    {
        public bool NoTrack;
        public bool Unsubscribe;
        public string? LinkName;
        public string? Sublink;

        public void Set(ReadOnlySpan<byte> name, string value)
        {
            if (Ascii.EqualsIgnoreCase(name, "data-msys-clicktrack"u8))
                NoTrack = value == "0";
            else if (Ascii.EqualsIgnoreCase(name, "data-msys-unsubscribe"u8))
                Unsubscribe = value == "1";
            else if (Ascii.EqualsIgnoreCase(name, "data-msys-linkname"u8))
                LinkName = value;
            else if (Ascii.EqualsIgnoreCase(name, "data-msys-sublink"u8))
                Sublink = value;
        }
    }
}
