namespace Beacon.Links;

/// <summary>Why a tracked link was not accepted: the closed set every decoding path maps malformed input to.</summary>
public enum LinkRejection
{
    None = 0,

    /// <summary>No token: an empty string, or a path that ends before one.</summary>
    Empty,

    /// <summary>Over <see cref="LinkCodec.MaxTokenChars"/> characters; never decoded.</summary>
    TooLong,

    /// <summary>The path is not <c>/f/…</c>, <c>/q/…</c> or <c>/o/…</c>.</summary>
    UnknownRoute,

    /// <summary>Not base64url (after percent-decoding and removing <c>=</c>/<c>~</c> padding).</summary>
    BadEncoding,

    /// <summary>Shorter than a header, a nonce, one byte and a tag.</summary>
    Truncated,

    /// <summary>A format version this build does not read.</summary>
    UnknownVersion,

    /// <summary>A kind byte that is not a <see cref="LinkKind"/>.</summary>
    UnknownKind,

    /// <summary>A click token under <c>/q/</c>, or an open token under <c>/f/</c>.</summary>
    WrongKind,

    /// <summary>The key id is not in the keyring (never was, or was pruned).</summary>
    UnknownKey,

    /// <summary>The key id is in the keyring but past its <c>retire_after</c> time.</summary>
    KeyRetired,

    /// <summary>AES-GCM authentication failed: the token was altered, forged, or sealed under another keyring.</summary>
    AuthenticationFailed,

    /// <summary>Authentic, yet the payload does not parse. Only a bug, or a newer writer with the same version, gives this.</summary>
    MalformedPayload,
}
