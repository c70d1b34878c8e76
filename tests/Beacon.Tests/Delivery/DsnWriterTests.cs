using System.Text;
using Beacon.Delivery;
using Beacon.Smtp;
using MimeKit;

namespace Beacon.Tests.Delivery;

public sealed class DsnWriterTests
{
    private static readonly DateTimeOffset Arrival = new(2026, 11, 27, 2, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 3, 0, 0, TimeSpan.Zero);

    private const string Original = "Received: from app (app [192.0.2.7])\r\n\tby mta.shop.example (Beacon) with ESMTP id 0A1B2C; Fri, 27 Nov 2026 02:00:00 +0000\r\n"
        + "From: Shop <news@shop.example>\r\nTo: bob@example.org\r\nSubject: Weekly\r\nMessage-ID: <w1@shop.example>\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThe body is never returned.\r\n";

    private static DsnReport Report(params DsnRecipient[] recipients) => new()
    {
        ReportingMta = "mta.shop.example",
        MessageId = "0A1B2C",
        EnvelopeSender = "bounces@shop.example",
        ArrivalDate = Arrival,
        Recipients = recipients,
    };

    private static (MimeMessage Message, byte[] Bytes) Write(DsnReport report, string original = Original)
    {
        byte[] bytes = DsnWriter.Write(report, new MemoryStream(Encoding.UTF8.GetBytes(original)), Now);
        return (MimeMessage.Load(new MemoryStream(bytes)), bytes);
    }

    [Fact]
    public void A_failure_report_is_a_multipart_report_with_the_three_parts()
    {
        var reply = new SmtpReply(550, "5.1.1", ["The email account that you tried to reach does not exist.", "Learn more - gsmtp"]);
        (MimeMessage message, byte[] bytes) = Write(Report(
            DsnRecipient.FromReply("bob@example.org", reply, "gmail-smtp-in.l.google.com") with { LastAttempt = Now },
            DsnRecipient.FromFailure("eve@nowhere.example", BounceClassifier.Classify(DeliveryFailure.DomainNotFound))));

        Assert.True(bytes.All(b => b < 0x80), "the report is 7-bit");
        Assert.Equal("MAILER-DAEMON@mta.shop.example", message.From.Mailboxes.Single().Address);
        Assert.Equal("bounces@shop.example", message.To.Mailboxes.Single().Address);
        Assert.Equal("Undelivered Mail Returned to Sender", message.Subject);
        Assert.Equal(Now, message.Date);
        Assert.Equal("auto-replied", message.Headers["Auto-Submitted"]);
        var report = Assert.IsType<MultipartReport>(message.Body);
        Assert.Equal("delivery-status", report.ReportType);
        Assert.Equal(3, report.Count);

        var text = Assert.IsType<TextPart>(report[0]);
        Assert.Contains("<bob@example.org>: host gmail-smtp-in.l.google.com said: 550 5.1.1 The email account", text.Text, StringComparison.Ordinal);
        Assert.Contains("<eve@nowhere.example>: 550 5.1.2 [internal] the recipient domain does not exist", text.Text, StringComparison.Ordinal);

        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal(3, status.StatusGroups.Count);
        HeaderList perMessage = status.StatusGroups[0];
        Assert.Equal("dns; mta.shop.example", perMessage["Reporting-MTA"]);
        Assert.Equal("0A1B2C", perMessage["X-Beacon-Message-ID"]);
        Assert.Equal(Arrival, DateUtilsParse(perMessage["Arrival-Date"]));
        HeaderList bob = status.StatusGroups[1];
        Assert.Equal("rfc822; bob@example.org", bob["Final-Recipient"]);
        Assert.Equal("failed", bob["Action"]);
        Assert.Equal("5.1.1", bob["Status"]);
        Assert.Equal("dns; gmail-smtp-in.l.google.com", bob["Remote-MTA"]);
        Assert.Equal("smtp; 550 5.1.1 The email account that you tried to reach does not exist. Learn more - gsmtp", Unfold(bob["Diagnostic-Code"]));
        Assert.Equal(Now, DateUtilsParse(bob["Last-Attempt-Date"]));
        HeaderList eve = status.StatusGroups[2];
        Assert.Equal("rfc822; eve@nowhere.example", eve["Final-Recipient"]);
        Assert.Equal("5.1.2", eve["Status"]);
        Assert.Equal("X-Beacon; 550 5.1.2 [internal] the recipient domain does not exist", Unfold(eve["Diagnostic-Code"]));
        Assert.Null(eve["Remote-MTA"]);

        var headers = Assert.IsType<TextRfc822Headers>(report[2]);
        Assert.Equal("Weekly", headers.Message!.Subject);
        Assert.Equal("w1@shop.example", headers.Message!.MessageId);
        string raw = Encoding.ASCII.GetString(bytes);
        Assert.Contains(Original[..Original.IndexOf("\r\n\r\n", StringComparison.Ordinal)], raw, StringComparison.Ordinal);
        Assert.DoesNotContain("The body is never returned", raw, StringComparison.Ordinal);
        Assert.All(raw.Split("\r\n"), line => Assert.True(line.Length <= 998));
    }

    [Fact]
    public void A_delay_report_says_delayed()
    {
        var reply = new SmtpReply(451, "4.7.1", "Greylisted, try again later");
        (MimeMessage message, _) = Write(Report(DsnRecipient.FromReply("bob@example.org", reply, "mx.example.org")) with { Delayed = true });
        Assert.Equal("Delayed Mail (still being retried)", message.Subject);
        HeaderList bob = ((MessageDeliveryStatus)Body(message)[1]).StatusGroups[1];
        Assert.Equal("delayed", bob["Action"]);
        Assert.Equal("4.7.1", bob["Status"]);
    }

    [Fact]
    public void A_non_ASCII_recipient_uses_the_RFC_6533_types_and_stays_7_bit()
    {
        (MimeMessage message, byte[] bytes) = Write(Report(new DsnRecipient("josé@exämple.org", "5.1.1", "550 5.1.1 unknown user josé", "mx.exämple.org")),
            Original.Replace("Subject: Weekly", "Subject: Café ☕", StringComparison.Ordinal));
        Assert.True(bytes.All(b => b < 0x80), "the report is 7-bit");
        MultipartReport report = Body(message);
        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal("message/global-delivery-status", status.ContentType.MimeType);
        HeaderList recipient = status.StatusGroups[1];
        Assert.Equal("utf-8; josé@exämple.org", recipient["Final-Recipient"]);
        Assert.Equal("smtp; 550 5.1.1 unknown user josé", recipient["Diagnostic-Code"]);
        Assert.Equal("dns; mx.ex?mple.org", recipient["Remote-MTA"]); // Remote-MTA is a dns name: A-labels only
        var headers = Assert.IsType<MimePart>(report[2]);
        Assert.Equal("message/global-headers", headers.ContentType.MimeType);
        using var decoded = new MemoryStream();
        headers.Content!.DecodeTo(decoded);
        Assert.Contains("Subject: Café ☕\r\n", Encoding.UTF8.GetString(decoded.ToArray()), StringComparison.Ordinal);
        Assert.Contains("josé@exämple.org", ((TextPart)report[0]).Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_whole_header_fields_within_the_bound_are_returned()
    {
        string big = "X-Big: " + new string('a', 900) + "\r\n";
        string original = string.Concat(Enumerable.Repeat(big, DsnWriter.MaxOriginalHeaderBytes / big.Length + 5)) + "Subject: late\r\n\r\nbody\r\n";
        (MimeMessage message, byte[] bytes) = Write(Report(new DsnRecipient("bob@example.org", "5.0.0")), original);
        var headers = (TextRfc822Headers)Body(message)[2];
        int count = headers.Message!.Headers.Count(h => h.Field == "X-Big");
        Assert.Equal(DsnWriter.MaxOriginalHeaderBytes / big.Length, count);
        Assert.All(headers.Message!.Headers, h => Assert.Equal(900, h.Value.Length));
        Assert.InRange(bytes.Length, DsnWriter.MaxOriginalHeaderBytes - big.Length, DsnWriter.MaxOriginalHeaderBytes + 4096);
    }

    [Fact]
    public void Bare_LF_headers_go_back_with_CRLF()
    {
        (_, byte[] bytes) = Write(Report(new DsnRecipient("bob@example.org", "5.0.0")), Original.Replace("\r\n", "\n", StringComparison.Ordinal));
        string raw = Encoding.ASCII.GetString(bytes);
        Assert.Contains("\r\nFrom: Shop <news@shop.example>\r\nTo: bob@example.org\r\n", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", raw.Replace("\r\n", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void The_null_sender_never_gets_a_DSN(string sender) =>
        Assert.Throws<ArgumentException>(() => DsnWriter.Write(Report(new DsnRecipient("bob@example.org", "5.0.0")) with { EnvelopeSender = sender },
            new MemoryStream(Encoding.ASCII.GetBytes(Original)), Now));

    [Fact]
    public void A_status_that_is_not_well_formed_becomes_the_generic_one()
    {
        (MimeMessage message, _) = Write(Report(new DsnRecipient("bob@example.org", "5.1"), new DsnRecipient("carol@example.org", "x")) with { Delayed = false });
        var status = (MessageDeliveryStatus)Body(message)[1];
        Assert.Equal("5.0.0", status.StatusGroups[1]["Status"]);
        Assert.Equal("5.0.0", status.StatusGroups[2]["Status"]);
    }

    private static MultipartReport Body(MimeMessage message) => Assert.IsType<MultipartReport>(message.Body);

    private static DateTimeOffset DateUtilsParse(string? value) =>
        MimeKit.Utils.DateUtils.TryParse(value!, out DateTimeOffset date) ? date : throw new FormatException(value);

    private static string Unfold(string? value) => value!.Replace("\r\n", string.Empty, StringComparison.Ordinal).Trim();
}
