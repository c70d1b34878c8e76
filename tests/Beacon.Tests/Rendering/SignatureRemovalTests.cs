using System.Text;
using Beacon.Rendering;

namespace Beacon.Tests.Rendering;

/// <summary>
/// A sender's DKIM-Signature hashes the body (bh=): it goes from a copy whose body Beacon rewrote, and stays on a
/// copy that went out as it came. Either way every other byte is what it would have been without the signature.
/// </summary>
public sealed class SignatureRemovalTests
{
    private const string Signatures =
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example; s=s1;\r\n\th=from:to:subject; bh=AAAA; b=BBBB\r\n"
        + "dkim-signature:v=1; a=ed25519-sha256; d=esp.example; s=e1; h=from; bh=AAAA;\r\n b=CCCC\r\n";

    private static byte[] WithSignatures(string message) =>
        Encoding.Latin1.GetBytes(Signatures + message.Replace("Subject: Weekly\r\n", "Subject: Weekly\r\nDKIM-Signature: v=1; late\r\n", StringComparison.Ordinal));

    private static byte[] Without(string message) => Encoding.Latin1.GetBytes(message);

    [Fact]
    public void A_rewritten_copy_loses_every_top_level_signature_and_nothing_else()
    {
        string message = Mail.Alternative("See https://x.example/a", "<a href=\"https://x.example/b\">b</a>");
        (byte[] signedCopy, RenderReport report) = RenderHarness.Render(WithSignatures(message));
        (byte[] plainCopy, RenderReport plainReport) = RenderHarness.Render(Without(message));
        Assert.True(report.HtmlPartRewritten && report.TextPartRewritten);
        Assert.Equal(3, report.SignaturesRemoved);
        Assert.Equal(1, report.HeadersRemoved); // X-MSYS-API, counted apart
        Assert.Equal(0, plainReport.SignaturesRemoved);
        Assert.Equal(Encoding.Latin1.GetString(plainCopy), Encoding.Latin1.GetString(signedCopy));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)] // click tracking on, but the message has no link: nothing is rewritten
    public void A_copy_that_is_not_rewritten_keeps_its_signatures(bool open, bool click)
    {
        string message = Mail.Alternative("No links here", "<p>none</p>");
        byte[] input = WithSignatures(message);
        (byte[] output, RenderReport report) = RenderHarness.Render(input, RenderHarness.Options(open, click));
        Assert.False(report.HtmlPartRewritten || report.TextPartRewritten);
        Assert.Equal(0, report.SignaturesRemoved);
        string expected = Encoding.Latin1.GetString(input)
            .Replace("X-MSYS-API: {\"campaign_id\":\"weekly\",\r\n  \"metadata\":{\"a\":1}}\r\n", string.Empty, StringComparison.Ordinal);
        Assert.Equal(expected, Encoding.Latin1.GetString(output));
    }

    [Fact]
    public void A_multipart_signed_message_is_not_rewritten_and_keeps_its_DKIM_signature()
    {
        byte[] original = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "enmime", "mail", "mime-signed.raw"));
        byte[] input = [.. Encoding.ASCII.GetBytes(Signatures), .. original];
        (byte[] output, RenderReport report) = RenderHarness.Render(input);
        Assert.Equal(RenderSkipReason.Signed, report.SkipReason);
        Assert.Equal(0, report.SignaturesRemoved);
        Assert.Equal(input, output);
    }

    [Fact]
    public void A_signature_inside_an_attached_message_is_not_top_level_and_stays()
    {
        string inner = "DKIM-Signature: v=1; inner\r\nFrom: a@b.example\r\n\r\nattached\r\n";
        string message = Mail.Headers + "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\n"
            + "Content-Type: text/html; charset=us-ascii\r\n\r\n<a href=\"https://x.example/\">x</a>\r\n--m\r\n"
            + "Content-Type: message/rfc822\r\n\r\n" + inner + "--m--\r\n";
        (byte[] output, RenderReport report) = RenderHarness.Render(Encoding.ASCII.GetBytes(Signatures + message));
        Assert.Equal(2, report.SignaturesRemoved);
        Assert.Contains(inner, Encoding.ASCII.GetString(output), StringComparison.Ordinal);
    }

    [Fact]
    public void The_list_is_configurable()
    {
        string message = Mail.Alternative("See https://x.example/a", "<p>x</p>");
        byte[] input = Encoding.Latin1.GetBytes("ARC-Seal: i=1; cv=none\r\n" + Signatures + message);
        RenderOptions defaults = RenderHarness.Options();
        var options = new RenderOptions
        {
            OpenTracking = true,
            ClickTracking = true,
            TrackingDomain = defaults.TrackingDomain,
            ClickUrl = defaults.ClickUrl,
            OpenUrl = defaults.OpenUrl,
            RemoveHeadersWhenRewritten = ["ARC-Seal"],
        };
        (byte[] output, RenderReport report) = RenderHarness.Render(input, options);
        Assert.Equal(1, report.SignaturesRemoved);
        Assert.StartsWith(Signatures, Encoding.Latin1.GetString(output), StringComparison.Ordinal);
    }
}
