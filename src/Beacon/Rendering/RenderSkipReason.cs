namespace Beacon.Rendering;

/// <summary>Why tracking was not applied to (part of) a copy. The copy still goes out: tracking fails open.</summary>
internal enum RenderSkipReason
{
    None,

    /// <summary>The message has a multipart/signed part; rewriting would break the signature.</summary>
    Signed,

    /// <summary>The message has a multipart/encrypted or application/pkcs7-mime part.</summary>
    Encrypted,

    /// <summary>The top part names a charset .NET does not know (or its bytes are not valid in a stateful charset).</summary>
    UnknownCharset,

    /// <summary>The top part's Content-Transfer-Encoding is unknown or its content does not decode cleanly.</summary>
    BrokenEncoding,

    /// <summary>MimeKit could not parse the message; only the header removal was applied.</summary>
    Unparseable,

    /// <summary>Tracking was on but the message has no top text/html (open) or text/plain or text/html (click) part.</summary>
    NoTrackablePart,

    /// <summary>A bug in the renderer; logged, and the part went out unchanged.</summary>
    InternalError,
}
