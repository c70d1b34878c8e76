namespace Beacon.Delivery;

/// <summary>
/// SparkPost's <c>bounce_class</c> (the number goes into the event as a string). Categories: hard 10, 30, 90;
/// soft 20–24, 40, 60, 70, 100; block 50–54; admin 25; undetermined 1. Classes 30 and 60–100 describe out-of-band
/// replies (a bounce or auto-reply message mailed back) and are never produced from an SMTP reply.
/// </summary>
internal enum BounceClass
{
    Undetermined = 1,
    InvalidRecipient = 10,
    SoftBounce = 20,
    DnsFailure = 21,
    MailboxFull = 22,
    TooLarge = 23,
    Timeout = 24,
    AdminFailure = 25,
    GenericBounceNoRcpt = 30,
    GenericBounce = 40,
    MailBlock = 50,
    SpamBlock = 51,
    SpamContent = 52,
    ProhibitedAttachment = 53,
    RelayingDenied = 54,
    AutoReply = 60,
    TransientFailure = 70,
    Subscribe = 80,
    Unsubscribe = 90,
    ChallengeResponse = 100,
}
