using System.Globalization;
using Beacon.Smtp;

namespace Beacon.Delivery;

/// <summary>
/// Maps a failed delivery to SparkPost's bounce class (docs/events.md#bounce-classes); first match wins:
/// (1) an enhanced status code (RFC 3463) that means one thing whatever the text; (2) for a temporary reply, words
/// asking to retry later (greylisting, rate limits): a transient failure; (3) the reply text against a keyword
/// table, because receivers put the real reason there, behind generic codes such as 5.7.1 or 5.0.0; (4) the subject
/// of the enhanced code, then the basic code. A temporary (4xx) reply is never a hard bounce: what would be an
/// invalid recipient or a generic bounce becomes a soft bounce.
/// </summary>
internal static class BounceClassifier
{
    /// <summary>Enhanced codes, without their class digit, whose meaning does not depend on the text.</summary>
    private static readonly Dictionary<string, BounceClass> Definite = new(StringComparer.Ordinal)
    {
        ["1.1"] = BounceClass.InvalidRecipient, // bad destination mailbox address
        ["1.2"] = BounceClass.InvalidRecipient, // bad destination system address: no such domain (a DNS failure if temporary)
        ["1.3"] = BounceClass.InvalidRecipient, // bad destination mailbox address syntax
        ["1.6"] = BounceClass.InvalidRecipient, // destination mailbox has moved, no forwarding address
        ["1.10"] = BounceClass.InvalidRecipient, // RFC 7505 null MX; Microsoft also says "recipient not found" with it
        ["2.1"] = BounceClass.InvalidRecipient, // mailbox disabled
        ["2.2"] = BounceClass.MailboxFull,
        ["2.3"] = BounceClass.TooLarge, // message length exceeds administrative limit
        ["3.4"] = BounceClass.TooLarge, // message too big for system
        ["3.1"] = BounceClass.SoftBounce, // mail system full: the receiver's disk, not the mailbox
        ["4.2"] = BounceClass.Timeout, // bad connection
        ["4.3"] = BounceClass.DnsFailure, // directory server failure
        ["4.4"] = BounceClass.DnsFailure, // unable to route
        ["4.6"] = BounceClass.DnsFailure, // routing loop
        ["4.7"] = BounceClass.Timeout, // delivery time expired
        ["7.23"] = BounceClass.MailBlock, // SPF validation failed (RFC 7372)
        ["7.25"] = BounceClass.MailBlock, // reverse DNS validation failed
        ["7.26"] = BounceClass.MailBlock, // multiple authentication checks failed (DMARC)
        ["7.27"] = BounceClass.MailBlock, // sender address has null MX
    };

    /// <summary>Checked in this order, on the lower-cased text; earlier entries are the more specific.</summary>
    private static readonly (string Keyword, BounceClass Class)[] Keywords =
    [
        ("relay access denied", BounceClass.RelayingDenied),
        ("relaying denied", BounceClass.RelayingDenied),
        ("relay not permitted", BounceClass.RelayingDenied),
        ("relaying not permitted", BounceClass.RelayingDenied),
        ("not permitted to relay", BounceClass.RelayingDenied),
        ("unable to relay", BounceClass.RelayingDenied),
        ("we do not relay", BounceClass.RelayingDenied),
        ("relay denied", BounceClass.RelayingDenied),
        // A rejected sender is a block, even when the words that follow are "user unknown".
        ("sender address rejected", BounceClass.MailBlock),
        ("sender verify failed", BounceClass.MailBlock),
        ("sender rejected", BounceClass.MailBlock),
        ("spamhaus", BounceClass.SpamBlock),
        ("spamcop", BounceClass.SpamBlock),
        ("barracuda", BounceClass.SpamBlock),
        ("sorbs", BounceClass.SpamBlock),
        ("blacklist", BounceClass.SpamBlock),
        ("black list", BounceClass.SpamBlock),
        ("blocklist", BounceClass.SpamBlock),
        ("block list", BounceClass.SpamBlock),
        ("dnsbl", BounceClass.SpamBlock),
        ("rbl", BounceClass.SpamBlock),
        ("blocked using", BounceClass.SpamBlock),
        ("banned sending ip", BounceClass.SpamBlock),
        ("reputation", BounceClass.SpamBlock),
        ("attachment", BounceClass.ProhibitedAttachment),
        ("file type", BounceClass.ProhibitedAttachment),
        ("unsolicited", BounceClass.SpamContent),
        ("looks like spam", BounceClass.SpamContent),
        ("as spam", BounceClass.SpamContent),
        ("spam content", BounceClass.SpamContent),
        ("content rejected", BounceClass.SpamContent),
        ("message content", BounceClass.SpamContent),
        ("virus", BounceClass.SpamContent),
        ("mailbox full", BounceClass.MailboxFull),
        ("mailbox is full", BounceClass.MailboxFull),
        ("over quota", BounceClass.MailboxFull),
        ("quota exceeded", BounceClass.MailboxFull),
        ("quotaexceeded", BounceClass.MailboxFull),
        ("exceeded storage", BounceClass.MailboxFull),
        ("insufficient storage", BounceClass.MailboxFull),
        ("too large", BounceClass.TooLarge),
        ("too big", BounceClass.TooLarge),
        ("size exceeds", BounceClass.TooLarge),
        ("size limit", BounceClass.TooLarge),
        ("exceeds maximum", BounceClass.TooLarge),
        ("user unknown", BounceClass.InvalidRecipient),
        ("unknown user", BounceClass.InvalidRecipient),
        ("recipient unknown", BounceClass.InvalidRecipient),
        ("unknown recipient", BounceClass.InvalidRecipient),
        ("no such user", BounceClass.InvalidRecipient),
        ("no such mailbox", BounceClass.InvalidRecipient),
        ("no such recipient", BounceClass.InvalidRecipient),
        ("mailbox not found", BounceClass.InvalidRecipient),
        ("mailbox unavailable", BounceClass.InvalidRecipient),
        ("invalid recipient", BounceClass.InvalidRecipient),
        ("invalid mailbox", BounceClass.InvalidRecipient),
        ("recipient not found", BounceClass.InvalidRecipient),
        ("recipient address rejected", BounceClass.InvalidRecipient),
        ("does not exist", BounceClass.InvalidRecipient),
        ("doesn't exist", BounceClass.InvalidRecipient),
        ("doesn't have a", BounceClass.InvalidRecipient),
        ("unrouteable address", BounceClass.InvalidRecipient),
        ("account disabled", BounceClass.InvalidRecipient),
        ("account is disabled", BounceClass.InvalidRecipient),
        ("host not found", BounceClass.DnsFailure),
        ("domain not found", BounceClass.DnsFailure),
        ("name service error", BounceClass.DnsFailure),
        ("no mx", BounceClass.DnsFailure),
        ("timed out", BounceClass.Timeout),
        ("timeout", BounceClass.Timeout),
        ("spam", BounceClass.SpamContent),
        ("blocked", BounceClass.MailBlock),
        ("denied", BounceClass.MailBlock),
        ("refused", BounceClass.MailBlock),
        ("prohibit", BounceClass.MailBlock),
        ("not accepted", BounceClass.MailBlock),
        ("policy", BounceClass.MailBlock),
        ("dmarc", BounceClass.MailBlock),
        ("unauthenticated", BounceClass.MailBlock),
        ("not authorized", BounceClass.MailBlock),
        ("rejected", BounceClass.MailBlock),
    ];

    /// <summary>Only for temporary replies: the receiver asks to come back later.</summary>
    private static readonly string[] TryLater =
    [
        "greylist", "graylist", "try again later", "try later", "please try again", "deferred", "rate limit", "rate-limit",
        "too many", "throttl", "temporarily", "unusual rate",
    ];

    public static BounceClassification Classify(SmtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        string text = string.Join(' ', reply.Lines.Select(static line => line.Trim())).Trim();
        string reason = reply.Enhanced is null ? $"{reply.Code} {text}" : $"{reply.Code} {reply.Enhanced} {text}";
        return new BounceClassification(ClassOf(reply.Code, reply.Enhanced, text), reason,
            reply.Code.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A failure Beacon decides itself; the reason is the reply Beacon would have given, marked "[internal]" as Momentum does.</summary>
    public static BounceClassification Classify(DeliveryFailure failure, string? detail = null)
    {
        (BounceClass bounceClass, string reply) = failure switch
        {
            DeliveryFailure.DnsFailure => (BounceClass.DnsFailure, "451 4.4.3 [internal] DNS lookup failed"),
            DeliveryFailure.DomainNotFound => (BounceClass.InvalidRecipient, "550 5.1.2 [internal] the recipient domain does not exist"),
            DeliveryFailure.NullMx => (BounceClass.InvalidRecipient, "556 5.1.10 [internal] the recipient domain accepts no mail (null MX)"),
            DeliveryFailure.ConnectionFailure => (BounceClass.SoftBounce, "451 4.4.1 [internal] no MX for this domain could be reached"),
            DeliveryFailure.ConnectionTimeout => (BounceClass.Timeout, "451 4.4.2 [internal] connection timed out"),
            DeliveryFailure.Expired => (BounceClass.Timeout, "554 5.4.7 [internal] exceeded max time without delivery"),
            DeliveryFailure.AdminBounce => (BounceClass.AdminFailure, "554 5.0.0 [internal] administratively failed"),
            DeliveryFailure.SmtpUtf8Unsupported => (BounceClass.GenericBounce, "554 5.6.7 [internal] the receiving server does not support SMTPUTF8"),
            _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, null),
        };
        string reason = string.IsNullOrWhiteSpace(detail) ? reply : $"{reply}: {detail.Trim()}";
        return new BounceClassification(bounceClass, reason, reply[..3]);
    }

    private static BounceClass ClassOf(int code, string? enhanced, string text)
    {
        if (code is < 400 or >= 600)
            return BounceClass.Undetermined;
        bool temporary = code < 500;
        string lower = text.ToLowerInvariant();
        string? subjectDetail = SubjectDetail(enhanced);
        BounceClass found = default;
        if (subjectDetail is not null && Definite.TryGetValue(subjectDetail, out BounceClass definite))
            found = definite;
        else if (temporary && TryLater.Any(lower.Contains))
            return BounceClass.TransientFailure;
        else
            found = Keywords.FirstOrDefault(k => lower.Contains(k.Keyword, StringComparison.Ordinal)).Class;
        if (found == default)
        {
            found = subjectDetail?[0] switch
            {
                '1' => BounceClass.InvalidRecipient, // addressing status
                '4' => BounceClass.Timeout, // network and routing status
                '7' => BounceClass.MailBlock, // security or policy status
                _ => BounceClass.GenericBounce, // mailbox, mail system, protocol, content, or no enhanced code
            };
        }

        // A temporary reply may succeed next time: never a hard bounce, and the 5.1.2 "no such domain" is a DNS problem.
        return temporary ? found switch
        {
            BounceClass.InvalidRecipient when subjectDetail == "1.2" => BounceClass.DnsFailure,
            BounceClass.InvalidRecipient or BounceClass.GenericBounce => BounceClass.SoftBounce,
            _ => found,
        } : found;
    }

    /// <summary>"5.1.1" → "1.1"; null when there is no well-formed enhanced code (RFC 3463 §2: class "." subject "." detail).</summary>
    private static string? SubjectDetail(string? enhanced)
    {
        if (enhanced is null || enhanced.Length < 5 || enhanced[1] != '.' || enhanced[0] is not ('2' or '4' or '5'))
            return null;
        string rest = enhanced[2..];
        int dot = rest.IndexOf('.');
        return dot is >= 1 and <= 3 && dot < rest.Length - 1 && rest.All(c => c == '.' || char.IsAsciiDigit(c)) ? rest : null;
    }
}
