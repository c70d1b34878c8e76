namespace Beacon.Delivery;

/// <summary>Why a recipient failed when no SMTP reply says so: Beacon itself gives up or refuses.</summary>
internal enum DeliveryFailure
{
    /// <summary>The MX/A lookup failed temporarily (SERVFAIL, timeout).</summary>
    DnsFailure,

    /// <summary>The domain does not exist (NXDOMAIN) or has neither MX nor address records.</summary>
    DomainNotFound,

    /// <summary>The domain publishes a null MX (RFC 7505): it accepts no mail.</summary>
    NullMx,

    /// <summary>Every MX refused the connection or could not be reached.</summary>
    ConnectionFailure,

    /// <summary>A connection or the session went silent past its timeout.</summary>
    ConnectionTimeout,

    /// <summary>The message stayed queued past its maximum age without being delivered.</summary>
    Expired,

    /// <summary>An operator failed the message (<c>beacon queue fail</c>, suppression, policy).</summary>
    AdminBounce,

    /// <summary>The message needs SMTPUTF8 (RFC 6531) and the receiving server does not offer it.</summary>
    SmtpUtf8Unsupported,
}
