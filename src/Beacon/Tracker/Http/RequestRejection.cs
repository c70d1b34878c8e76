namespace Beacon.Tracker.Http;

/// <summary>
/// Why the HTTP layer refused a request (the closed set of Kestrel's RequestRejectionReason, cut to what the
/// tracker's parser can find). Every rejection is answered with <see cref="RequestRejections.Status"/> and
/// <c>Connection: close</c>: after a framing error nothing later on the connection can be trusted.
/// </summary>
internal enum RequestRejection
{
    /// <summary>Not <c>method SP request-target SP HTTP-version</c>, or a control, non-ASCII or bare CR byte in it.</summary>
    InvalidRequestLine,

    /// <summary>Asterisk-form or authority-form with GET or HEAD: no resource the tracker could name.</summary>
    InvalidTarget,

    /// <summary>A field line that is not <c>field-name ":" OWS field-value OWS</c>, with a control byte or a bare CR.</summary>
    InvalidHeader,

    /// <summary>A field line starting with SP or HTAB (obsolete line folding, RFC 9112 §5.2).</summary>
    ObsoleteLineFolding,

    /// <summary>HTTP/1.1 without Host, or more than one Host (RFC 9112 §3.2).</summary>
    InvalidHost,

    /// <summary>Content-Length that is not one decimal number (RFC 9112 §6.3).</summary>
    InvalidContentLength,

    /// <summary>The HTTP/2 connection preface (<c>PRI * HTTP/2.0</c>): h2c is not offered.</summary>
    Http2Preface,

    /// <summary>HTTP/x.y other than 1.0 and 1.1.</summary>
    UnsupportedVersion,

    /// <summary>Longer than engagement_tracker.max_request_line_size.</summary>
    RequestLineTooLong,

    /// <summary>More bytes than engagement_tracker.max_request_headers_total_size.</summary>
    HeadersTooLarge,

    /// <summary>More fields than engagement_tracker.max_request_header_count.</summary>
    TooManyHeaders,

    /// <summary>The head did not arrive within request_headers_timeout_seconds of its first byte.</summary>
    Timeout,
}

internal static class RequestRejections
{
    public static int Status(this RequestRejection rejection) => rejection switch
    {
        RequestRejection.UnsupportedVersion => 505,
        RequestRejection.RequestLineTooLong => 414,
        RequestRejection.HeadersTooLarge or RequestRejection.TooManyHeaders => 431,
        RequestRejection.Timeout => 408,
        _ => 400,
    };
}
