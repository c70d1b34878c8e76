using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Beacon.Links;

/// <summary>
/// Seals a <see cref="TrackedLink"/> into a token and opens tokens again (docs/tracking-links.md, "Token").
/// <code>
/// token = base64url( version:u8 kind:u8 key_id:u16be nonce:12 AES-256-GCM(plaintext):n tag:16 )
/// associated data = version kind key_id       (a click token cannot be presented as an open, or under another key)
/// </code>
/// Opening never throws: any input ends as a link or as one <see cref="LinkRejection"/>.
/// </summary>
public sealed class LinkCodec(Keyring keyring)
{
    public const byte Version = 1;

    /// <summary>Longer tokens are refused before decoding, and <see cref="LinkBuilder"/> does not build them.</summary>
    public const int MaxTokenChars = 8192;

    private const int HeaderSize = 4;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int Overhead = HeaderSize + NonceSize + TagSize;

    [ThreadStatic]
    private static (LinkKey Key, AesGcm Cipher)? _threadCipher;

    public Keyring Keyring => keyring;

    /// <summary>Seals with the active key. Throws <see cref="KeyringException"/> if none is active.</summary>
    public string Seal(TrackedLink link)
    {
        var plaintext = LinkPayload.Write(link);
        var key = keyring.ActiveKey();
        var token = new byte[Overhead + plaintext.Length];
        WriteHeader(token, link.Kind, key.Id);
        var nonce = token.AsSpan(HeaderSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(key.Secret, TagSize))
        {
            aes.Encrypt(nonce, plaintext, token.AsSpan(HeaderSize + NonceSize, plaintext.Length), token.AsSpan(token.Length - TagSize), token.AsSpan(0, HeaderSize));
        }

        return Base64Url.EncodeToString(token);
    }

    /// <summary>Opens the token of a tracked URL or path: <c>…/f/[sublink/]token</c>, <c>…/q/token</c> or <c>…/o/token</c>.</summary>
    public bool TryOpenUrl(string? url, out OpenedLink? opened, out LinkRejection rejection)
    {
        opened = null;
        if (!LinkUrl.TryParse(url, out var route, out var token, out rejection))
        {
            return false;
        }

        if (!TryOpen(token, out opened, out rejection))
        {
            return false;
        }

        if ((route == LinkKind.Click) != (opened!.Link.Kind == LinkKind.Click))
        {
            (opened, rejection) = (null, LinkRejection.WrongKind);
            return false;
        }

        return true;
    }

    /// <summary>Opens a bare token; base64url with <c>=</c>, <c>~</c> or no padding.</summary>
    public bool TryOpen(ReadOnlySpan<char> token, out OpenedLink? opened, out LinkRejection rejection)
    {
        opened = null;
        token = LinkUrl.TrimPadding(token);
        if (token.IsEmpty)
        {
            rejection = LinkRejection.Empty;
            return false;
        }

        if (token.Length > MaxTokenChars)
        {
            rejection = LinkRejection.TooLong;
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(token.Length));
        try
        {
            // Canonical only: the unused low bits of a last partial group must be zero, so that one token has one spelling.
            if (token.Length % 4 == 1 || token.ContainsAnyExcept(LinkUrl.Alphabet) ||
                Base64Url.DecodeFromChars(token, buffer, out _, out var length) != OperationStatus.Done || !IsCanonical(token, buffer.AsSpan(0, length)))
            {
                rejection = LinkRejection.BadEncoding;
                return false;
            }

            return TryOpen(buffer.AsSpan(0, length), out opened, out rejection);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    private bool TryOpen(ReadOnlySpan<byte> token, out OpenedLink? opened, out LinkRejection rejection)
    {
        opened = null;
        if (token.Length < Overhead + 1)
        {
            rejection = token.Length >= 1 && token[0] != Version ? LinkRejection.UnknownVersion : LinkRejection.Truncated;
            return false;
        }

        var kind = (LinkKind)token[1];
        var id = BinaryPrimitives.ReadUInt16BigEndian(token[2..]);
        if (token[0] != Version)
        {
            rejection = LinkRejection.UnknownVersion;
            return false;
        }

        if (!Enum.IsDefined(kind))
        {
            rejection = LinkRejection.UnknownKind;
            return false;
        }

        if (!keyring.TryGetKey(id, out var key, out rejection))
        {
            return false;
        }

        var ciphertext = token[(HeaderSize + NonceSize)..^TagSize];
        var plaintext = ArrayPool<byte>.Shared.Rent(ciphertext.Length);
        try
        {
            try
            {
                OpeningCipher(key!).Decrypt(token.Slice(HeaderSize, NonceSize), ciphertext, token[^TagSize..], plaintext.AsSpan(0, ciphertext.Length), token[..HeaderSize]);
            }
            catch (AuthenticationTagMismatchException)
            {
                rejection = LinkRejection.AuthenticationFailed;
                return false;
            }

            if (!LinkPayload.TryRead(plaintext.AsSpan(0, ciphertext.Length), kind, out var link))
            {
                rejection = LinkRejection.MalformedPayload;
                return false;
            }

            opened = new OpenedLink(link!, id);
            rejection = LinkRejection.None;
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plaintext, clearArray: true);
        }
    }

    /// <summary>
    /// The tracker opens a link per request: setting up AES-GCM for a key costs about as much as the decryption, so each
    /// thread keeps the cipher of the last key it used (an instance is not safe for concurrent use, hence per thread).
    /// A reloaded keyring has new key objects, which replace the cached cipher.
    /// </summary>
    private static AesGcm OpeningCipher(LinkKey key)
    {
        var cached = _threadCipher;
        if (cached is not null && ReferenceEquals(cached.Value.Key, key))
        {
            return cached.Value.Cipher;
        }

        cached?.Cipher.Dispose();
        var cipher = new AesGcm(key.Secret, TagSize);
        _threadCipher = (key, cipher);
        return cipher;
    }

    private static bool IsCanonical(ReadOnlySpan<char> token, ReadOnlySpan<byte> decoded)
    {
        var tail = decoded.Length % 3;
        if (tail == 0)
        {
            return true;
        }

        Span<char> last = stackalloc char[4];
        return Base64Url.TryEncodeToChars(decoded[^tail..], last, out var written) && last[..written].SequenceEqual(token[^written..]);
    }

    private static void WriteHeader(Span<byte> token, LinkKind kind, ushort keyId)
    {
        token[0] = Version;
        token[1] = (byte)kind;
        BinaryPrimitives.WriteUInt16BigEndian(token[2..], keyId);
    }
}
