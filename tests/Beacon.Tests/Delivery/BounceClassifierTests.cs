using System.Text.RegularExpressions;
using Beacon.Delivery;
using Beacon.Smtp;

namespace Beacon.Tests.Delivery;

/// <summary>Replies as receivers send them (lines separated by "|"), each with the bounce class it must get.</summary>
public sealed partial class BounceClassifierTests
{
    [Theory]
    // Gmail
    [InlineData("550-5.1.1 The email account that you tried to reach does not exist. Please try|550-5.1.1 double-checking the recipient's email address for typos or|550-5.1.1 unnecessary spaces. Learn more at|550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si1234567qkb.12 - gsmtp", 10)]
    [InlineData("550-5.2.1 The email account that you tried to reach is disabled. Learn more at|550 5.2.1  https://support.google.com/mail/?p=DisabledUser a1si1234567 - gsmtp", 10)]
    [InlineData("552-5.2.2 The email account that you tried to reach is over quota. Please direct|552-5.2.2 the recipient to|552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm a1si1234567 - gsmtp", 22)]
    [InlineData("452-4.2.2 The email account that you tried to reach is over quota. Please direct|452 4.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaTemp a1si1234567 - gsmtp", 22)]
    [InlineData("552-5.2.3 Your message exceeded Google's message size limits. Please visit|552 5.2.3  https://support.google.com/mail/?p=MaxSizeError a1si1234567 - gsmtp", 23)]
    [InlineData("550-5.7.1 [203.0.113.5      12] Our system has detected that this message is|550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,|550-5.7.1 this message has been blocked. Please visit|550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError a1si1234567 - gsmtp", 52)]
    [InlineData("550-5.7.26 This mail is unauthenticated, which poses a security risk to the|550-5.7.26 sender and Gmail users, and has been blocked. The sender must|550-5.7.26 authenticate with at least one of SPF or DKIM. For this message,|550 5.7.26 DKIM checks did not pass and SPF check for [shop.example] did not pass", 50)]
    [InlineData("421-4.7.28 [203.0.113.5      15] Our system has detected an unusual rate of|421-4.7.28 unsolicited mail originating from your IP address. To protect our|421-4.7.28 users from spam, mail sent from your IP address has been temporarily|421 4.7.28 rate limited. Please visit https://support.google.com/mail/?p=UnsolicitedRateLimitError - gsmtp", 70)]
    [InlineData("552-5.7.0 This message was blocked because its content presents a potential|552-5.7.0 security issue. Please visit|552-5.7.0  https://support.google.com/mail/?p=BlockedMessage to review our|552 5.7.0 message content and attachment content guidelines. a1si1234567 - gsmtp", 53)]
    [InlineData("450-4.2.1 The user you are trying to contact is receiving mail at a rate that|450-4.2.1 prevents additional messages from being delivered. Please resend your|450 4.2.1 message at a later time. a1si1234567 - gsmtp", 20)]
    // Outlook / Microsoft 365
    [InlineData("550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [AM0PR02MB1234.eurprd02.prod.outlook.com]", 10)]
    [InlineData("550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors [DM6NAM11FT012.eop-nam11.prod.protection.outlook.com]", 10)]
    [InlineData("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient bob@contoso.example not found by SMTP address lookup", 10)]
    [InlineData("554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded", 22)]
    [InlineData("550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors.", 51)]
    [InlineData("550 5.7.606 Access denied, banned sending IP [203.0.113.5]. To request removal from this list please visit https://sender.office.com/ and follow the directions.", 51)]
    [InlineData("550 5.7.509 Access denied, sending domain SHOP.EXAMPLE does not pass DMARC verification and has a DMARC policy of reject.", 50)]
    [InlineData("451 4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP reputation.", 70)]
    // Yahoo / AOL
    [InlineData("554 delivery error: dd This user doesn't have a yahoo.com account (bob@yahoo.com) [0] - mta1234.mail.ne1.yahoo.com", 10)]
    [InlineData("552 1 Requested mail action aborted, mailbox not found", 10)]
    [InlineData("421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", 70)]
    [InlineData("553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.5, because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes", 51)]
    [InlineData("554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes", 50)]
    [InlineData("550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.", 50)]
    [InlineData("554 30 Sorry, your message size exceeds 41943040 bytes.", 23)]
    // Postfix
    [InlineData("550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in virtual mailbox table", 10)]
    [InlineData("550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in local recipient table", 10)]
    [InlineData("554 5.7.1 <bob@example.org>: Relay access denied", 54)]
    [InlineData("450 4.2.0 <bob@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html", 70)]
    [InlineData("554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.5", 51)]
    [InlineData("552 5.3.4 Message size exceeds fixed limit", 23)]
    [InlineData("452 4.3.1 Insufficient system storage", 20)]
    [InlineData("450 4.1.2 <bob@nowhere.example>: Recipient address rejected: Domain not found", 21)]
    [InlineData("550 5.1.2 <bob@nowhere.example>: Recipient address rejected: Domain not found", 10)]
    [InlineData("550 5.1.0 <news@shop.example>: Sender address rejected: User unknown in virtual mailbox table", 50)]
    [InlineData("554 5.7.1 <unknown[203.0.113.5]>: Client host rejected: Access denied", 50)]
    [InlineData("421 4.4.2 mx.example.org Error: timeout exceeded", 24)]
    [InlineData("450 4.7.1 <mail.shop.example>: Helo command rejected: Host not found", 21)]
    [InlineData("550 5.7.1 Message rejected as spam by Content Filtering.", 52)]
    [InlineData("450 4.1.1 <bob@example.org>: Recipient address rejected: unverified address: host mx.example.org[192.0.2.1] said: 550 5.1.1 User unknown", 20)]
    // Exim
    [InlineData("550 Unrouteable address", 10)]
    [InlineData("550-Verification failed for <news@shop.example>|550-Unrouteable address|550 Sender verify failed", 50)]
    [InlineData("550 Administrative prohibition", 50)]
    [InlineData("552 Message size exceeds maximum permitted", 23)]
    [InlineData("550 rejected because 203.0.113.5 is in a black list at zen.spamhaus.org", 51)]
    [InlineData("451 Temporary local problem - please try later", 70)]
    [InlineData("550 relay not permitted", 54)]
    [InlineData("550-Your message looks like SPAM or has been reported as SPAM|550 please read http://www.example.org/spam.html", 52)]
    [InlineData("550 This message contains a prohibited attachment type (.exe)", 53)]
    [InlineData("550 5.2.2 bob@example.org: mailbox is full", 22)]
    // Codes alone
    [InlineData("500 5.5.1 Command unrecognized", 40)]
    [InlineData("554 Transaction failed", 40)]
    [InlineData("554 5.1.9 something new", 10)]
    [InlineData("554 5.7.99 something new", 50)]
    [InlineData("451 4.3.0 Local error in processing", 20)]
    [InlineData("450 4.4.7 Message delayed", 24)]
    [InlineData("250 2.0.0 OK", 1)]
    public void A_reply_gets_its_bounce_class(string transcript, int expected)
    {
        SmtpReply reply = Parse(transcript);
        BounceClassification result = BounceClassifier.Classify(reply);
        Assert.Equal((BounceClass)expected, result.Class);
        Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), result.ClassText);
        Assert.Equal(transcript[..3], result.ErrorCode);
    }

    [Fact]
    public void The_reason_is_the_reply_with_its_lines_joined()
    {
        BounceClassification result = BounceClassifier.Classify(Parse("550-5.1.1 The email account that you tried to reach does not exist.|550 5.1.1 Learn more - gsmtp"));
        Assert.Equal("550 5.1.1 The email account that you tried to reach does not exist. Learn more - gsmtp", result.Reason);
        Assert.Equal("550 Unrouteable address", BounceClassifier.Classify(Parse("550 Unrouteable address")).Reason);
    }

    [Theory]
    [InlineData("DnsFailure", 21, "451", "451 4.4.3 [internal] DNS lookup failed")]
    [InlineData("DomainNotFound", 10, "550", "550 5.1.2 [internal] the recipient domain does not exist")]
    [InlineData("NullMx", 10, "556", "556 5.1.10 [internal] the recipient domain accepts no mail (null MX)")]
    [InlineData("ConnectionFailure", 20, "451", "451 4.4.1 [internal] no MX for this domain could be reached")]
    [InlineData("ConnectionTimeout", 24, "451", "451 4.4.2 [internal] connection timed out")]
    [InlineData("Expired", 24, "554", "554 5.4.7 [internal] exceeded max time without delivery")]
    [InlineData("AdminBounce", 25, "554", "554 5.0.0 [internal] administratively failed")]
    [InlineData("SmtpUtf8Unsupported", 40, "554", "554 5.6.7 [internal] the receiving server does not support SMTPUTF8")]
    public void A_failure_without_a_reply_gets_its_class_and_an_internal_reason(string name, int expected, string code, string reason)
    {
        DeliveryFailure failure = Enum.Parse<DeliveryFailure>(name);
        BounceClassification result = BounceClassifier.Classify(failure);
        Assert.Equal((BounceClass)expected, result.Class);
        Assert.Equal(code, result.ErrorCode);
        Assert.Equal(reason, result.Reason);
        Assert.Equal(reason + ": mx1.example.org refused", BounceClassifier.Classify(failure, "mx1.example.org refused").Reason);
    }

    /// <summary>"550-5.1.1 a|550 5.1.1 b" → code, enhanced code (when every line has it), text lines.</summary>
    private static SmtpReply Parse(string transcript)
    {
        string[] lines = transcript.Split('|');
        int code = int.Parse(lines[0][..3], System.Globalization.CultureInfo.InvariantCulture);
        Match first = Enhanced().Match(lines[0][4..]);
        string? enhanced = first.Success ? first.Groups[1].Value : null;
        var text = lines.Select(line => enhanced is not null && line[4..].StartsWith(enhanced, StringComparison.Ordinal)
            ? line[(4 + enhanced.Length)..].TrimStart(' ') : line[4..]).ToList();
        return new SmtpReply(code, enhanced, text);
    }

    [GeneratedRegex(@"^([245]\.\d{1,3}\.\d{1,3})(?: |$)")]
    private static partial Regex Enhanced();
}
