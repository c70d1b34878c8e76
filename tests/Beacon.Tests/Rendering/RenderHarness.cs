using System.Text;
using System.Text.RegularExpressions;
using Beacon.Rendering;
using MimeKit;

namespace Beacon.Tests.Rendering;

/// <summary>
/// Renders messages with a reversible fake link codec (the target is base64url-encoded into the tracked URL) and
/// checks a copy against its original the way the issue asks: (a) every tracked link decodes back to its target,
/// (b) nothing else changed in the decoded parts, (c) no line over 998 octets, (d) the same MIME tree.
/// </summary>
internal static partial class RenderHarness
{
    public const string TrackedPrefix = "https://track.example/f/";
    public const string OpenPixel = "<img border=\"0\" width=\"1\" height=\"1\" alt=\"\" src=\"https://track.example/q/open\">";
    public const string InitialPixel = "<img border=\"0\" width=\"1\" height=\"1\" alt=\"\" src=\"https://track.example/q/initial\">";

    public static RenderOptions Options(bool open = true, bool click = true, bool initialOpen = false, List<ClickTarget>? seen = null) => new()
    {
        OpenTracking = open,
        ClickTracking = click,
        InitialOpen = initialOpen,
        TrackingDomain = "track.example",
        ClickUrl = target =>
        {
            seen?.Add(target);
            return TrackedPrefix + (target.Sublink is null ? string.Empty : target.Sublink + "/")
                + Convert.ToBase64String(Encoding.UTF8.GetBytes(target.Url)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        },
        OpenUrl = initial => initial ? "https://track.example/q/initial" : "https://track.example/q/open",
    };

    public static (byte[] Output, RenderReport Report) Render(byte[] input, RenderOptions? options = null)
    {
        using var source = new MemoryStream(input, writable: false);
        using var output = new MemoryStream();
        RenderReport report = new MessageRenderer(new FailingLogger()).Render(source, output, options ?? Options());
        return (output.ToArray(), report);
    }

    public static (string Output, RenderReport Report) Render(string input, RenderOptions? options = null)
    {
        (byte[] output, RenderReport report) = Render(Encoding.Latin1.GetBytes(input), options);
        return (Encoding.Latin1.GetString(output), report);
    }

    /// <summary>Decodes every tracked URL in <paramref name="text"/> back to its target.</summary>
    public static string Untrack(string text, bool htmlEscape) => TrackedUrl().Replace(text, match =>
    {
        string token = match.Groups["token"].Value.Replace('-', '+').Replace('_', '/');
        string target = Encoding.UTF8.GetString(Convert.FromBase64String(token.PadRight((token.Length + 3) / 4 * 4, '=')));
        return htmlEscape ? target.Replace("&", "&amp;", StringComparison.Ordinal) : target;
    });

    public static List<string> TrackedTargets(string text) =>
        TrackedUrl().Matches(text).Select(m => Untrack(m.Value, htmlEscape: false)).ToList();

    public static int LongestLine(byte[] message) => Beacon.Rendering.PartRewriter.LongestLine(message);

    /// <summary>The golden check (b)–(d); returns the decoded top parts of the copy for further assertions.</summary>
    public static void AssertFaithful(byte[] original, byte[] rendered, RenderReport report, bool compareContent = true)
    {
        if (report.SkipReason == RenderSkipReason.Unparseable)
            return;
        MimeMessage before = MimeMessage.Load(new MemoryStream(original));
        MimeMessage after = MimeMessage.Load(new MemoryStream(rendered));
        AssertHeaders(before.Headers, after.Headers, topLevel: true, signaturesRemoved: report.SignaturesRemoved > 0);
        Assert.Equal(report.SignaturesRemoved, before.Headers.Count(h => h.Id == HeaderId.DkimSignature) - after.Headers.Count(h => h.Id == HeaderId.DkimSignature));
        AssertEntity(before.Body, after.Body, compareContent);
        if (LongestLine(original) <= 998)
            Assert.True(LongestLine(rendered) <= 998, "a line of the copy is over 998 octets");
    }

    private static void AssertEntity(MimeEntity? before, MimeEntity? after, bool compareContent)
    {
        Assert.Equal(before is null, after is null);
        if (before is null || after is null)
            return;
        Assert.Equal(before.ContentType.MimeType, after.ContentType.MimeType);
        Assert.Equal(before.GetType(), after.GetType());
        if (before is Multipart multipart)
        {
            var other = (Multipart)after;
            Assert.Equal(multipart.Count, other.Count);
            for (int i = 0; i < multipart.Count; i++)
                AssertEntity(multipart[i], other[i], compareContent);
            return;
        }

        if (before is MessagePart message)
        {
            AssertEntity(message.Message?.Body, ((MessagePart)after).Message?.Body, compareContent);
            return;
        }

        AssertHeaders(before.Headers, after.Headers, topLevel: false);
        if (before is not MimePart part || part.Content is null || !compareContent)
            return;
        string a = Decode(part);
        string b = Decode((MimePart)after);
        if (part.ContentType.IsMimeType("text", "html"))
        {
            b = b.Replace(OpenPixel, string.Empty, StringComparison.Ordinal).Replace(InitialPixel, string.Empty, StringComparison.Ordinal);
            a = DataMsysAttribute().Replace(a, string.Empty);
            a = Untrack(a, htmlEscape: true);
            b = Untrack(b, htmlEscape: true);
            a = a.Replace("&amp;", "&", StringComparison.Ordinal);
            b = b.Replace("&amp;", "&", StringComparison.Ordinal);
        }
        else if (part.ContentType.IsMimeType("text", "plain"))
        {
            a = Annotation().Replace(a, string.Empty);
            a = Untrack(a, htmlEscape: false);
            b = Untrack(b, htmlEscape: false);
        }

        Assert.Equal(a, b);
    }

    /// <summary>The decoded content of the message's first text part, read as UTF-8.</summary>
    public static string DecodedBody(byte[] message)
    {
        MimePart part = MimeMessage.Load(new MemoryStream(message)).BodyParts.OfType<MimePart>().First();
        using var stream = new MemoryStream();
        part.Content?.DecodeTo(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Decoded content as text, one char per byte, so the comparison is byte for byte.</summary>
    public static string Decode(MimePart part)
    {
        using var stream = new MemoryStream();
        part.Content?.DecodeTo(stream);
        return Encoding.Latin1.GetString(stream.ToArray());
    }

    private static void AssertHeaders(HeaderList before, HeaderList after, bool topLevel, bool signaturesRemoved = false)
    {
        bool Kept(Header h, bool topLevel) =>
            !(topLevel && h.Field.Equals("X-MSYS-API", StringComparison.OrdinalIgnoreCase))
            && !(topLevel && signaturesRemoved && h.Id == HeaderId.DkimSignature)
            && !h.Field.Equals("Content-Transfer-Encoding", StringComparison.OrdinalIgnoreCase);
        string[] a = before.Where(h => Kept(h, topLevel)).Select(h => h.Field + ":" + Encoding.Latin1.GetString(h.RawValue)).ToArray();
        string[] b = after.Where(h => Kept(h, topLevel)).Select(h => h.Field + ":" + Encoding.Latin1.GetString(h.RawValue)).ToArray();
        Assert.Equal(a, b);
        Assert.DoesNotContain(after, h => topLevel && h.Field.Equals("X-MSYS-API", StringComparison.OrdinalIgnoreCase));
    }

    [GeneratedRegex(@"https://track\.example/f/(?:[A-Za-z0-9._~-]+/)*?(?<token>[A-Za-z0-9_-]{4,})(?![A-Za-z0-9_/-])")]
    private static partial Regex TrackedUrl();

    [GeneratedRegex(@"[ \t\r\n]+data-msys-[A-Za-z-]+(?:[ \t\r\n]*=[ \t\r\n]*(?:""[^""]*""|'[^']*'|[^ \t\r\n>]+))?", RegexOptions.IgnoreCase)]
    private static partial Regex DataMsysAttribute();

    [GeneratedRegex(@"\[\[data-msys-[^\]]*\]\]", RegexOptions.IgnoreCase)]
    private static partial Regex Annotation();
}
