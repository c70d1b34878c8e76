using System.Text;

namespace Beacon.Rendering;

/// <summary>
/// Finds the start and end tags of an HTML document in its decoded bytes, recording source offsets so the
/// rewriter can splice edits into the original text (nothing is re-serialised). It follows the HTML Living
/// Standard tokenizer (§13.2.5) where it matters for finding tags: tag open, tag name, attribute name and
/// (double-, single- and un-quoted) value states; comments (<c>&lt;!-- … --&gt;</c>, including <c>&lt;!--&gt;</c>
/// and <c>--!&gt;</c>); bogus comments (<c>&lt;!DOCTYPE …&gt;</c>, <c>&lt;?…&gt;</c>, <c>&lt;![endif]&gt;</c>); and
/// RAWTEXT/RCDATA elements (<c>style</c>, <c>script</c>, <c>title</c>, <c>textarea</c> …) whose content is not
/// markup, so a URL in a style sheet is never a link.
/// One deliberate deviation: a downlevel-hidden conditional comment (<c>&lt;!--[if mso]&gt; … &lt;![endif]--&gt;</c>)
/// is entered, not skipped, because that is where Outlook's real links (VML buttons, fallback tables) live.
/// Works for any charset whose bytes below 0x80 are ASCII and never part of a multi-byte character's lead;
/// trail bytes of Shift_JIS, Big5 or GBK are ≥ 0x40, so they never look like <c>&lt; &gt; = " ' /</c>.
/// </summary>
internal ref struct HtmlTokenizer
{
    private static readonly byte[][] RawTextElements =
    [
        "script"u8.ToArray(), "style"u8.ToArray(), "title"u8.ToArray(), "textarea"u8.ToArray(), "xmp"u8.ToArray(),
        "iframe"u8.ToArray(), "noembed"u8.ToArray(), "noframes"u8.ToArray(), "plaintext"u8.ToArray(),
    ];

    private readonly ReadOnlySpan<byte> _html;
    private readonly List<HtmlAttribute> _attributes;
    private int _pos;
    private byte[]? _rawText;

    // The next "-->", "]>" and ">" found by an earlier search (-1: none before the end; -2: not searched yet).
    // Positions only move forward, so a remembered hit still is the first one after any later position before it:
    // this keeps "<!--[if" or "<!x" repeated a million times without a close linear, not quadratic.
    private int _commentClose = -2;
    private int _conditionalOpen = -2;
    private int _tagClose = -2;

    /// <param name="attributes">Cleared and filled with the attributes of each tag <see cref="Next"/> returns.</param>
    public HtmlTokenizer(ReadOnlySpan<byte> html, List<HtmlAttribute> attributes)
    {
        _html = html;
        _attributes = attributes;
    }

    /// <summary>The next start or end tag; false at the end of the document (an unfinished tag is not a tag).</summary>
    public bool Next(out HtmlTag tag)
    {
        ReadOnlySpan<byte> html = _html;
        while (_pos < html.Length)
        {
            if (_rawText is not null)
            {
                SkipRawText();
                continue;
            }

            int lt = html[_pos..].IndexOf((byte)'<');
            if (lt < 0 || _pos + lt + 1 >= html.Length)
                break;
            int p = _pos + lt;
            byte next = html[p + 1];
            if (IsAsciiLetter(next))
            {
                if (ReadTag(p, p + 1, isEndTag: false, out tag))
                    return true;
                break;
            }

            if (next == '/')
            {
                if (p + 2 < html.Length && IsAsciiLetter(html[p + 2]))
                {
                    if (ReadTag(p, p + 2, isEndTag: true, out tag))
                        return true;
                    break;
                }

                if (p + 2 < html.Length && html[p + 2] == '>')
                    _pos = p + 3;
                else
                    SkipTo(p + 2, ">"u8);
                continue;
            }

            if (next == '!')
            {
                if (html[(p + 2)..].StartsWith("--"u8))
                    SkipComment(p + 4);
                else
                    SkipTo(p + 2, ">"u8);
                continue;
            }

            if (next == '?')
            {
                SkipTo(p + 2, ">"u8);
                continue;
            }

            _pos = p + 1;
        }

        _pos = html.Length;
        tag = default;
        return false;
    }

    private void SkipTo(int from, ReadOnlySpan<byte> terminator)
    {
        int i = Find(from, terminator, ref _tagClose);
        _pos = i < 0 ? _html.Length : i + terminator.Length;
    }

    /// <summary>The absolute offset of the first <paramref name="needle"/> at or after <paramref name="from"/>, or -1.</summary>
    private readonly int Find(int from, ReadOnlySpan<byte> needle, ref int cached)
    {
        if (cached == -1 || cached >= from)
            return cached;
        int i = from >= _html.Length ? -1 : _html[from..].IndexOf(needle);
        cached = i < 0 ? -1 : from + i;
        return cached;
    }

    private void SkipComment(int body)
    {
        ReadOnlySpan<byte> rest = _html[body..];
        if (rest.StartsWith(">"u8))
        {
            _pos = body + 1;
            return;
        }

        if (rest.StartsWith("->"u8))
        {
            _pos = body + 2;
            return;
        }

        // Every search is bounded by the first "-->", so a document of many comments stays linear.
        int closeAt = Find(body, "-->"u8, ref _commentClose);
        int close = closeAt < 0 ? -1 : closeAt - body;
        ReadOnlySpan<byte> comment = close < 0 ? rest : rest[..close];
        if (rest.Length >= 3 && Ascii.EqualsIgnoreCase(rest[..3], "[if"u8))
        {
            // <!--[if mso]> … <![endif]-->: continue with the markup inside; <![endif]--> is then a bogus comment.
            int openAt = Find(body, "]>"u8, ref _conditionalOpen);
            if (openAt >= 0 && (close < 0 || openAt - body < close))
            {
                _pos = openAt + 2;
                return;
            }
        }

        int bang = comment.IndexOf("--!>"u8);
        if (bang >= 0)
            _pos = body + bang + 4;
        else
            _pos = close < 0 ? _html.Length : body + close + 3;
    }

    private void SkipRawText()
    {
        byte[] name = _rawText!;
        ReadOnlySpan<byte> html = _html;
        if (name.AsSpan().SequenceEqual("plaintext"u8))
        {
            _pos = html.Length;
            return;
        }

        int from = _pos;
        while (true)
        {
            int i = from >= html.Length ? -1 : html[from..].IndexOf("</"u8);
            if (i < 0)
            {
                _pos = html.Length;
                return;
            }

            int p = from + i;
            int after = p + 2 + name.Length;
            if (after < html.Length && Ascii.EqualsIgnoreCase(html.Slice(p + 2, name.Length), name)
                && (IsWhiteSpace(html[after]) || html[after] is (byte)'/' or (byte)'>'))
            {
                _pos = p;
                _rawText = null;
                return;
            }

            from = p + 2;
        }
    }

    private bool ReadTag(int start, int nameStart, bool isEndTag, out HtmlTag tag)
    {
        ReadOnlySpan<byte> html = _html;
        _attributes.Clear();
        tag = default;
        int i = nameStart;
        while (i < html.Length && !IsWhiteSpace(html[i]) && html[i] != '/' && html[i] != '>')
            i++;
        int nameLength = i - nameStart;
        while (true)
        {
            int lead = i;
            while (i < html.Length && (IsWhiteSpace(html[i]) || html[i] == '/'))
                i++;
            if (i >= html.Length)
                return false;
            if (html[i] == '>')
            {
                tag = new HtmlTag(isEndTag, start, i + 1, nameStart, nameLength);
                _pos = i + 1;
                if (!isEndTag)
                    _rawText = RawTextName(html.Slice(nameStart, nameLength));
                return true;
            }

            int attrName = i++;
            while (i < html.Length && !IsWhiteSpace(html[i]) && html[i] is not ((byte)'/' or (byte)'>' or (byte)'='))
                i++;
            int attrNameEnd = i;
            int j = i;
            while (j < html.Length && IsWhiteSpace(html[j]))
                j++;
            if (j >= html.Length)
                return false;
            if (html[j] != '=')
            {
                _attributes.Add(new HtmlAttribute(lead, attrName, attrNameEnd - attrName, -1, 0, 0, attrNameEnd));
                continue;
            }

            j++;
            while (j < html.Length && IsWhiteSpace(html[j]))
                j++;
            if (j >= html.Length)
                return false;
            byte quote = html[j];
            if (quote is (byte)'"' or (byte)'\'')
            {
                int close = html[(j + 1)..].IndexOf(quote);
                if (close < 0)
                    return false;
                _attributes.Add(new HtmlAttribute(lead, attrName, attrNameEnd - attrName, j + 1, close, quote, j + close + 2));
                i = j + close + 2;
            }
            else
            {
                int k = j;
                while (k < html.Length && !IsWhiteSpace(html[k]) && html[k] != '>')
                    k++;
                _attributes.Add(new HtmlAttribute(lead, attrName, attrNameEnd - attrName, j, k - j, 0, k));
                i = k;
            }
        }
    }

    private static byte[]? RawTextName(ReadOnlySpan<byte> name)
    {
        foreach (byte[] candidate in RawTextElements)
        {
            if (Ascii.EqualsIgnoreCase(name, candidate))
                return candidate;
        }

        return null;
    }

    internal static bool IsWhiteSpace(byte b) => b is 0x20 or 0x09 or 0x0A or 0x0C or 0x0D;

    private static bool IsAsciiLetter(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a';
}
