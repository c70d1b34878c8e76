using System.Text;
using Beacon.Rendering;

namespace Beacon.Tests.Rendering;

/// <summary>Seeded random inputs: the renderer never throws, never loses the MIME tree, never writes a line over 998 octets.</summary>
public sealed class PropertyTests
{
    private static readonly string[] Pieces =
    [
        "<a href=\"https://x.example/a?b=1&amp;c=2\">", "<a href='http://y.example/'>", "<a href=https://z.example/z>", "<A HREF = \" https://w.example \" >",
        "</a>", "<area href=\"https://m.example/\">", "<a data-msys-linkname=\"n\" data-msys-clicktrack=\"0\" href=\"https://q.example\">", "<a href", "<a href=\"",
        "<a href='unterminated", "<!--", "-->", "<!--[if mso]>", "<![endif]-->", "<!--[if", "]>", "<style>", "</style>", "<script>", "</script", "<title>",
        "</title>", "<body>", "</body>", "<BODY x=1>", "</BODY >", "<", ">", "/>", "=", "\"", "'", "&amp;", "&#x26;", "&#99999999;", "&", "{{", "}}",
        "{{opening_double_curly()}}", "{{ closing_triple_curly() }}", "{{name}}", "https://plain.example/x.", "[[data-msys-clicktrack=\"0\"]]", "[[data-msys-",
        "\r\n", "\n", "\r", " ", "\t", "é", "\u00ff", "\u3042", "text", "<p>", "</p>", "<!DOCTYPE html>", "<?xml ?>", "</>", "<textarea>", "</textarea>", "<plaintext>",
        "=3D", "=\r\n", "data-msys-x=1", "<td nowrap>", new string('a', 1200),
    ];

    private static string RandomHtml(Random random)
    {
        var builder = new StringBuilder();
        int count = random.Next(0, 60);
        for (int i = 0; i < count; i++)
            builder.Append(Pieces[random.Next(Pieces.Length)]);
        return builder.ToString();
    }

    [Fact]
    public void Random_html_never_throws_and_keeps_the_mime_tree()
    {
        var random = new Random(20261127);
        string[] encodings = ["7bit", "8bit", "quoted-printable", "base64", "binary"];
        for (int i = 0; i < 400; i++)
        {
            string html = RandomHtml(random);
            string encoding = encodings[random.Next(encodings.Length)];
            string body = encoding == "base64" ? Convert.ToBase64String(Encoding.UTF8.GetBytes(html), Base64FormattingOptions.InsertLineBreaks) : html;
            string type = random.Next(2) == 0 ? "text/html" : "text/plain";
            byte[] input = random.Next(3) == 0
                ? Encoding.UTF8.GetBytes(Mail.Alternative(RandomHtml(random), RandomHtml(random)))
                : Mail.SinglePart(type, body, encoding, random.Next(4) == 0 ? "shift_jis" : "utf-8");
            (byte[] output, RenderReport report) = RenderHarness.Render(input, RenderHarness.Options(initialOpen: random.Next(2) == 0));
            Assert.NotEqual(RenderSkipReason.InternalError, report.SkipReason);
            RenderHarness.AssertFaithful(input, output, report, compareContent: false);
        }
    }

    [Fact]
    public void Quoted_printable_splicing_decodes_to_the_same_text_as_rewriting_the_plain_part()
    {
        var random = new Random(1234);
        for (int i = 0; i < 300; i++)
        {
            string html = (RandomHtml(random) + (random.Next(2) == 0 ? "\r\n" : string.Empty)).ReplaceLineEndings("\r\n");
            byte[] plain = Encoding.UTF8.GetBytes(html);
            byte[] qp = Encoding.ASCII.GetBytes(MimeKitQuotedPrintable(plain));
            RenderOptions options = RenderHarness.Options(initialOpen: random.Next(2) == 0);
            (byte[] fromPlain, _) = RenderHarness.Render(Mail.SinglePart("text/html", html, "binary"), options);
            (byte[] fromQp, RenderReport report) = RenderHarness.Render(Mail.SinglePart("text/html", Encoding.ASCII.GetString(qp), "quoted-printable"), options);
            Assert.Equal(RenderHarness.DecodedBody(fromPlain), RenderHarness.DecodedBody(fromQp));
            Assert.InRange(RenderHarness.LongestLine(fromQp), 0, 998);
        }
    }

    [Theory]
    [InlineData("a\nb <a href=3D\"https://x.example/\">x</a> and a very long tail that goes on and on and on and on=\r\n and on\r\nc\r\n")]
    [InlineData("<a data-msys-linkname=3D\"x\"\r\n  data-msys-clicktrack=3D\"0\"\r\n href=3D\"https://x.example/\">x</a>")]
    [InlineData("<body>\r\n</body>=\r\n")]
    [InlineData("<body>\r\n")]
    public void Quoted_printable_splicing_handles_lone_line_feeds_edits_across_lines_and_the_end(string encoded)
    {
        byte[] source = Encoding.ASCII.GetBytes(encoded);
        byte[] decoded = new byte[source.Length];
        Assert.True(Beacon.Rendering.QuotedPrintable.TryDecode(source, decoded, out int n));
        string html = Encoding.Latin1.GetString(decoded, 0, n);
        (byte[] fromPlain, _) = RenderHarness.Render(Mail.SinglePart("text/html", html, "binary", bodyEncoding: Encoding.Latin1));
        (byte[] fromQp, _) = RenderHarness.Render(Mail.SinglePart("text/html", encoded, "quoted-printable"));
        Assert.Equal(RenderHarness.DecodedBody(fromPlain), RenderHarness.DecodedBody(fromQp));
        Assert.InRange(RenderHarness.LongestLine(fromQp), 0, 76);
    }

    private static string MimeKitQuotedPrintable(byte[] data)
    {
        var encoder = new MimeKit.Encodings.QuotedPrintableEncoder();
        byte[] output = new byte[encoder.EstimateOutputLength(data.Length)];
        int n = encoder.Flush(data, 0, data.Length, output);
        return Encoding.ASCII.GetString(output, 0, n).ReplaceLineEndings("\r\n");
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(42);
        byte[] html = Mail.Html("<body><a href=\"https://x.example/\">x</a></body>");
        for (int i = 0; i < 400; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 2000)];
                random.NextBytes(input);
            }
            else
            {
                // A valid message with random bytes flipped: broken headers, boundaries and bodies.
                input = (byte[])html.Clone();
                for (int j = random.Next(1, 20); j > 0; j--)
                    input[random.Next(input.Length)] = (byte)random.Next(256);
            }

            (_, RenderReport report) = RenderHarness.Render(input);
            Assert.NotEqual(RenderSkipReason.InternalError, report.SkipReason);
        }
    }

    [Theory]
    [InlineData("<!---->", 400_000)]
    [InlineData("<!--[if x]>", 400_000)]
    [InlineData("<a href='https://x.example/' ", 100_000)]
    [InlineData(")", 2_000_000)]
    [InlineData("{{", 1_000_000)]
    public void Pathological_repetition_stays_linear(string piece, int count)
    {
        string body = (piece == ")" ? "see https://x.example/" : string.Empty) + string.Concat(Enumerable.Repeat(piece, count));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        (_, RenderReport report) = RenderHarness.Render(Mail.SinglePart(piece == ")" ? "text/plain" : "text/html", body, "8bit"));
        Assert.NotEqual(RenderSkipReason.InternalError, report.SkipReason);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Fact]
    public void The_tokenizer_terminates_on_any_prefix_of_a_document()
    {
        byte[] document = Encoding.UTF8.GetBytes(string.Concat(Pieces));
        var attributes = new List<HtmlAttribute>();
        for (int length = 0; length <= document.Length; length += 7)
        {
            var tokenizer = new HtmlTokenizer(document.AsSpan(0, length), attributes);
            int tags = 0;
            while (tokenizer.Next(out HtmlTag tag))
            {
                Assert.InRange(tag.End, tag.Start + 2, length);
                tags++;
            }

            Assert.InRange(tags, 0, length);
        }
    }
}
