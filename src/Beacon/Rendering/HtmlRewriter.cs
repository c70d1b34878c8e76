using System.Text;

namespace Beacon.Rendering;

/// <summary>
/// Edits for the top text/html part: tracked hrefs on <c>&lt;a&gt;</c> and <c>&lt;area&gt;</c>, removal of every
/// <c>data-msys-*</c> attribute (spec §5 Q17), and the open pixel(s) (spec §F7, §5 Q10). The edits are spliced
/// into the original text, so markup, spacing, quoting, comments and attribute order are kept byte for byte.
/// </summary>
internal static class HtmlRewriter
{
    private static readonly byte[] DataMsys = "data-msys-"u8.ToArray();

    public static HtmlRewriteResult AddEdits(ReadOnlySpan<byte> html, Encoding charset, RenderOptions options, EditList edits)
    {
        var attributes = new List<HtmlAttribute>(16);
        var tokenizer = new HtmlTokenizer(html, attributes);
        int lastBodyEnd = -1;
        int firstBodyOpenEnd = -1;
        int links = 0;
        while (tokenizer.Next(out HtmlTag tag))
        {
            if (tag.IsEndTag)
            {
                if (tag.NameIs(html, "body"u8))
                    lastBodyEnd = tag.Start;
                continue;
            }

            if (firstBodyOpenEnd < 0 && tag.NameIs(html, "body"u8))
                firstBodyOpenEnd = tag.End;
            if (attributes.Count > 0 && RewriteTag(html, tag, attributes, charset, options, edits))
                links++;
        }

        bool pixel = false;
        bool initialPixel = false;
        if (options.OpenTracking)
        {
            edits.Insert(lastBodyEnd >= 0 ? lastBodyEnd : html.Length, Pixel(options.OpenUrl(false), charset));
            pixel = true;
            if (options.InitialOpen && firstBodyOpenEnd >= 0)
            {
                edits.Insert(firstBodyOpenEnd, Pixel(options.OpenUrl(true), charset));
                initialPixel = true;
            }
        }

        return new HtmlRewriteResult(links, pixel, initialPixel);
    }

    /// <summary>Removes the tag's data-msys attributes and seals its href; true when a link was rewritten.</summary>
    private static bool RewriteTag(ReadOnlySpan<byte> html, HtmlTag tag, List<HtmlAttribute> attributes, Encoding charset,
        RenderOptions options, EditList edits)
    {
        bool isLink = tag.NameIs(html, "a"u8) || tag.NameIs(html, "area"u8);
        int href = -1;
        string? linkName = null;
        string? sublink = null;
        bool noTrack = false;
        bool unsubscribe = false;
        for (int i = 0; i < attributes.Count; i++)
        {
            HtmlAttribute attribute = attributes[i];
            ReadOnlySpan<byte> name = attribute.Name(html);
            if (name.Length > DataMsys.Length && Ascii.EqualsIgnoreCase(name[..DataMsys.Length], DataMsys))
            {
                edits.Remove(attribute.LeadStart, attribute.End - attribute.LeadStart);
                if (!isLink)
                    continue;
                ReadOnlySpan<byte> option = name[DataMsys.Length..];
                if (Ascii.EqualsIgnoreCase(option, "linkname"u8))
                    linkName = DecodeValue(html, attribute, charset);
                else if (Ascii.EqualsIgnoreCase(option, "clicktrack"u8))
                    noTrack = DecodeValue(html, attribute, charset).Trim() == "0";
                else if (Ascii.EqualsIgnoreCase(option, "unsubscribe"u8))
                    unsubscribe = DecodeValue(html, attribute, charset).Trim() == "1";
                else if (Ascii.EqualsIgnoreCase(option, "sublink"u8))
                    sublink = DecodeValue(html, attribute, charset).Trim();
            }
            else if (isLink && href < 0 && attribute.HasValue && Ascii.EqualsIgnoreCase(name, "href"u8))
            {
                href = i;
            }
        }

        if (!isLink || href < 0 || noTrack || !options.ClickTracking)
            return false;
        HtmlAttribute target = attributes[href];
        string url = BraceMacros.Expand(LinkPolicy.CleanTarget(DecodeValue(html, target, charset)));
        if (!LinkPolicy.IsTrackable(url, options.TrackingDomain))
            return false;
        string tracked = options.ClickUrl(new ClickTarget(url, LinkPolicy.TruncateName(linkName), unsubscribe,
            string.IsNullOrEmpty(sublink) ? null : sublink));
        byte quote = target.Quote;
        string escaped = HtmlEntities.EscapeAttribute(tracked, ref quote);
        if (quote != target.Quote)
            escaped = "\"" + escaped + "\"";
        edits.Replace(target.ValueStart, target.ValueLength, charset.GetBytes(escaped));
        return true;
    }

    private static string DecodeValue(ReadOnlySpan<byte> html, HtmlAttribute attribute, Encoding charset) =>
        HtmlEntities.DecodeAttribute(charset.GetString(attribute.Value(html)));

    private static byte[] Pixel(string url, Encoding charset)
    {
        byte quote = (byte)'"';
        return charset.GetBytes($"<img border=\"0\" width=\"1\" height=\"1\" alt=\"\" src=\"{HtmlEntities.EscapeAttribute(url, ref quote)}\">");
    }
}

internal readonly record struct HtmlRewriteResult(int Links, bool Pixel, bool InitialPixel);
