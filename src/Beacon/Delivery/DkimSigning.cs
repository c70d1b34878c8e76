using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Beacon.Config;
using MimeKit;

namespace Beacon.Delivery;

/// <summary>
/// DKIM signing (RFC 6376) of rendered copies. Given the exact bytes that will be sent, it returns the
/// DKIM-Signature field(s) to prepend, computed over those bytes: the body hash streams over the raw body and the
/// header hash over the raw fields, never over a MimeKit re-serialisation (which can differ from the input by a
/// CRLF after the last boundary, and would then not verify). MimeKit only parses the From field.
/// <para>
/// Key choice (docs/delivery.md#dkim): the first mailbox of the first RFC5322.From field gives the domain; keys for
/// exactly that domain sign; if there are none, keys for the nearest parent domain with <c>sign_subdomains</c> do
/// (From mail.example.com, d=example.com: aligned under DMARC relaxed alignment, the DMARC default). Every key of
/// the chosen domain signs (an RSA and an Ed25519 key side by side is RFC 8463's advice), in configuration order.
/// </para>
/// Thread-safe: keys are immutable after <see cref="Load"/> (RSA signing through OpenSSL keeps no state in the key
/// object; an Ed25519 signer is made per signature).
/// </summary>
internal sealed class DkimSigning : IDisposable
{
    /// <summary>Signed when present, in this order; RFC 6376 §5.4.1's list plus what bulk mail needs kept intact.</summary>
    public static readonly IReadOnlyList<string> DefaultHeaders =
    [
        "From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
        "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post", "Sender", "In-Reply-To", "References",
    ];

    /// <summary>A header block longer than this is not signed (the renderer and ingress bound headers well below it).</summary>
    private const int MaxHeaderBytes = 1024 * 1024;

    private readonly Dictionary<string, List<DkimKey>> _byDomain;
    private readonly TimeProvider _time;

    internal DkimSigning(IEnumerable<DkimKey> keys, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _byDomain = new Dictionary<string, List<DkimKey>>(StringComparer.OrdinalIgnoreCase);
        foreach (DkimKey key in keys)
        {
            if (!_byDomain.TryGetValue(key.Domain, out List<DkimKey>? list))
                _byDomain[key.Domain] = list = [];
            list.Add(key);
        }
    }

    public IEnumerable<DkimKey> Keys => _byDomain.Values.SelectMany(static list => list);

    /// <summary>False when no key is configured: nothing is ever signed, and callers skip reading the copy.</summary>
    public bool HasKeys => _byDomain.Count > 0;

    /// <summary>
    /// Loads and checks every key at start-up; any problem is a <see cref="ConfigException"/> listing each one by its
    /// key path ("delivery:dkim:0:private_key: file '…' does not exist").
    /// </summary>
    public static DkimSigning Load(IReadOnlyList<DkimKeyOptions> options, string path = "delivery:dkim", TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var keys = new List<DkimKey>();
        var selectors = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < options.Count; i++)
        {
            DkimKey? key = DkimKeyReader.Read(options[i], $"{path}:{i}", errors);
            if (key is null)
                continue;
            keys.Add(key);
            // One DNS name holds one public key: two keys under one name cannot both verify.
            if (!selectors.TryAdd($"{key.Selector}._domainkey.{key.Domain}", i))
                errors.Add($"{path}:{i}:selector: '{key.Selector}' of {key.Domain} is already {path}:{selectors[$"{key.Selector}._domainkey.{key.Domain}"]}");
        }

        if (errors.Count == 0)
            return new DkimSigning(keys, time);
        keys.ForEach(static key => key.Dispose());
        throw new ConfigException(errors);
    }

    /// <summary>Signs the copy in <paramref name="message"/> (from its current position to its end, which is restored).</summary>
    /// <returns>The DKIM-Signature field(s), folded and CRLF-terminated, to write before the copy; null when no key applies.</returns>
    public byte[]? Sign(Stream message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!message.CanSeek)
            throw new ArgumentException("The copy must be seekable: it is read twice, once to sign and once to send.", nameof(message));
        long origin = message.Position;
        byte[] head = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            // Only the header block is held in memory, read in growing steps; the body streams through the hash.
            int read = 0;
            int headerLength;
            while ((headerLength = HeaderEnd(head.AsSpan(0, read))) < 0)
            {
                if (read == head.Length)
                {
                    if (head.Length >= MaxHeaderBytes)
                        return null; // no end of the header block within the bound
                    byte[] larger = ArrayPool<byte>.Shared.Rent(head.Length * 2);
                    head.AsSpan(0, read).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(head);
                    head = larger;
                }

                int n = message.Read(head, read, head.Length - read);
                if (n == 0)
                {
                    headerLength = read; // a message that is all header
                    break;
                }

                read += n;
            }

            List<HeaderField> fields = HeaderField.Parse(head.AsSpan(0, headerLength), out _);
            List<DkimKey>? keys = Choose(head.AsSpan(0, headerLength), fields);
            if (keys is null)
                return null;
            message.Position = origin + headerLength;
            byte[][] bodyHashes = HashBody(message, keys);
            return Signatures(head.AsSpan(0, headerLength), fields, keys, bodyHashes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
            message.Position = origin;
        }
    }

    /// <summary>The length of the header block with its empty line, or -1 if <paramref name="data"/> does not hold all of it yet.</summary>
    private static int HeaderEnd(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith("\n"u8))
            return 1;
        if (data.StartsWith("\r\n"u8))
            return 2;
        int crlf = data.IndexOf("\n\r\n"u8);
        int lf = data.IndexOf("\n\n"u8);
        if (crlf < 0 && lf < 0)
            return -1;
        return crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 3 : lf + 2;
    }

    /// <inheritdoc cref="Sign(Stream)"/>
    public byte[]? Sign(ReadOnlySpan<byte> message)
    {
        List<HeaderField> fields = HeaderField.Parse(message, out int headerLength);
        List<DkimKey>? keys = Choose(message[..headerLength], fields);
        if (keys is null)
            return null;
        var bodyHashes = new byte[2][];
        foreach (DkimCanonicalization canonicalization in keys.Select(static k => k.BodyCanonicalization).Distinct())
        {
            using var hash = new DkimBodyHash(canonicalization);
            hash.Append(message[headerLength..]);
            bodyHashes[(int)canonicalization] = hash.Complete();
        }

        return Signatures(message[..headerLength], fields, keys, bodyHashes);
    }

    public void Dispose()
    {
        foreach (DkimKey key in Keys)
            key.Dispose();
    }

    /// <summary>The keys for the From domain, or for its nearest parent domain that allows subdomains.</summary>
    private List<DkimKey>? Choose(ReadOnlySpan<byte> head, List<HeaderField> fields)
    {
        if (_byDomain.Count == 0)
            return null;
        string? domain = FromDomain(head, fields);
        if (domain is null)
            return null;
        if (_byDomain.TryGetValue(domain, out List<DkimKey>? exact))
            return exact;
        for (int dot = domain.IndexOf('.'); dot >= 0 && dot < domain.Length - 1; dot = domain.IndexOf('.', dot + 1))
        {
            if (_byDomain.TryGetValue(domain[(dot + 1)..], out List<DkimKey>? parent) && parent.Any(static k => k.SignSubdomains))
                return parent.Where(static k => k.SignSubdomains).ToList();
        }

        return null;
    }

    /// <summary>The domain (lower case, A-labels) of the first mailbox in the first From field, or null.</summary>
    internal static string? FromDomain(ReadOnlySpan<byte> head, List<HeaderField> fields)
    {
        foreach (HeaderField field in fields)
        {
            if (!field.Name.Equals("From", StringComparison.OrdinalIgnoreCase))
                continue;
            ReadOnlySpan<byte> raw = head[field.Start..field.End];
            byte[] value = raw[(raw.IndexOf((byte)':') + 1)..].ToArray();
            if (!InternetAddressList.TryParse(ParserOptions.Default, value, out InternetAddressList? list))
                return null;
            MailboxAddress? mailbox = list.Mailboxes.FirstOrDefault();
            if (mailbox is null)
                return null;
            string address = mailbox.GetAddress(idnEncode: true);
            int at = address.LastIndexOf('@');
            return at < 0 || at == address.Length - 1 ? null : address[(at + 1)..].TrimEnd('.').ToLowerInvariant();
        }

        return null;
    }

    /// <summary>One pass over the body feeds each canonicalisation the chosen keys need.</summary>
    private static byte[][] HashBody(Stream body, List<DkimKey> keys)
    {
        var hashes = new DkimBodyHash?[2];
        foreach (DkimKey key in keys)
            hashes[(int)key.BodyCanonicalization] ??= new DkimBodyHash(key.BodyCanonicalization);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = body.Read(buffer, 0, buffer.Length)) > 0)
            {
                hashes[0]?.Append(buffer.AsSpan(0, read));
                hashes[1]?.Append(buffer.AsSpan(0, read));
            }

            return [hashes[0]?.Complete() ?? [], hashes[1]?.Complete() ?? []];
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            hashes[0]?.Dispose();
            hashes[1]?.Dispose();
        }
    }

    private byte[] Signatures(ReadOnlySpan<byte> head, List<HeaderField> fields, List<DkimKey> keys, byte[][] bodyHashes)
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        var output = new ArrayBufferWriter<byte>();
        foreach (DkimKey key in keys)
            output.Write(Signature(head, fields, key, bodyHashes[(int)key.BodyCanonicalization], now));
        return output.WrittenSpan.ToArray();
    }

    /// <summary>RFC 6376 §3.7 and §5: hash the signed fields, then the new field with an empty b=, and sign that hash.</summary>
    private static byte[] Signature(ReadOnlySpan<byte> head, List<HeaderField> fields, DkimKey key, byte[] bodyHash, long now)
    {
        // §5.4.2: for a name listed once per instance, instances are taken from the bottom of the block up.
        var used = new bool[fields.Count];
        var signed = new List<(string Name, HeaderField Field)>();
        foreach (string name in key.Headers)
        {
            for (int i = fields.Count - 1; i >= 0; i--)
            {
                if (!used[i] && fields[i].Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    used[i] = true;
                    signed.Add((name, fields[i]));
                }
            }
        }

        string unsigned = DkimSignatureField.Unsigned(key, signed.Select(static s => s.Name), bodyHash, now);
        var data = new ArrayBufferWriter<byte>();
        foreach ((_, HeaderField field) in signed)
            DkimHeaderCanonicalizer.Append(head[field.Start..field.End], key.HeaderCanonicalization, withLineBreak: true, data);
        DkimHeaderCanonicalizer.Append(Encoding.ASCII.GetBytes(unsigned), key.HeaderCanonicalization, withLineBreak: false, data);
        byte[] signature = key.SignHash(SHA256.HashData(data.WrittenSpan));
        return Encoding.ASCII.GetBytes(unsigned + DkimSignatureField.FoldBase64(Convert.ToBase64String(signature)) + "\r\n");
    }
}
