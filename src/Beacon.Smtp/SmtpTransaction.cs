namespace Beacon.Smtp;

public enum BodyType
{
    SevenBit,
    EightBitMime,
}

/// <summary>One mail transaction: the envelope gathered between MAIL and the end of DATA or the last BDAT.</summary>
public sealed class SmtpTransaction(MailPath mailFrom, BodyType bodyType, bool smtpUtf8, long? declaredSize)
{
    private readonly List<MailPath> _recipients = [];

    public MailPath MailFrom { get; } = mailFrom;

    public BodyType BodyType { get; } = bodyType;

    public bool SmtpUtf8 { get; } = smtpUtf8;

    public long? DeclaredSize { get; } = declaredSize;

    public IReadOnlyList<MailPath> Recipients => _recipients;

    /// <summary>Message context variables set during the transaction (policy hooks before DATA).</summary>
    public Dictionary<string, string> Context { get; } = new(StringComparer.Ordinal);

    internal void AddRecipient(MailPath recipient) => _recipients.Add(recipient);
}

/// <summary>Who the client proved to be with AUTH (RFC 4954).</summary>
public sealed record AuthenticatedUser(string Username, string? CustomerId);
