using Beacon.Rendering;

namespace Beacon.Tests.Rendering;

/// <summary>Golden tests over the enmime corpus (TestData/enmime, CC0-1.0, see its ATTRIBUTION.md).</summary>
public sealed class CorpusTests
{
    public static TheoryData<string> Messages()
    {
        var data = new TheoryData<string>();
        string root = Path.Combine(AppContext.BaseDirectory, "TestData", "enmime");
        foreach (string file in Directory.GetFiles(root, "*.raw", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(root, file));
        return data;
    }

    private static byte[] Load(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "enmime", name));

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_message_renders_faithfully_with_tracking_on(string name)
    {
        byte[] input = Load(name);
        (byte[] output, RenderReport report) = RenderHarness.Render(input, RenderHarness.Options(initialOpen: true));
        RenderHarness.AssertFaithful(input, output, report);
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void With_tracking_off_every_message_goes_out_byte_for_byte(string name)
    {
        byte[] input = Load(name);
        (byte[] output, RenderReport report) = RenderHarness.Render(input, RenderHarness.Options(open: false, click: false));
        Assert.Equal(input, output);
        Assert.Equal(0, report.LinksRewritten);
    }

    [Theory]
    [InlineData("mail/erroneous.raw")]
    [InlineData("low-quality/bad-header-start.raw")]
    public void A_message_MimeKit_cannot_parse_goes_out_unchanged(string name)
    {
        byte[] input = Load(name);
        (byte[] output, RenderReport report) = RenderHarness.Render(input);
        Assert.Equal(input, output);
        Assert.Equal(RenderSkipReason.Unparseable, report.SkipReason);
        Assert.Equal("unparseable", report.SkipReasonName);
    }

    [Fact]
    public void A_signed_message_is_not_changed()
    {
        byte[] input = Load("mail/mime-signed.raw");
        (byte[] output, RenderReport report) = RenderHarness.Render(input);
        Assert.Equal(input, output);
        Assert.Equal(RenderSkipReason.Signed, report.SkipReason);
    }

    [Fact]
    public void An_html_only_message_gets_the_pixel()
    {
        byte[] input = Load("mail/html-only-inline.raw");
        (byte[] output, RenderReport report) = RenderHarness.Render(input);
        Assert.True(report.OpenPixelInserted, report.ToString());
        Assert.Contains(RenderHarness.OpenPixel, System.Text.Encoding.Latin1.GetString(output), StringComparison.Ordinal);
        RenderHarness.AssertFaithful(input, output, report);
    }
}
