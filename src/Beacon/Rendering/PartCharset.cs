using System.Text;

namespace Beacon.Rendering;

/// <summary>
/// The charset of a top part, and whether its bytes can be rewritten in place. The tokenizer works on bytes, which
/// is exact for every charset that keeps ASCII below 0x80 and uses no byte below 0x40 inside a multi-byte
/// character (UTF-8, ISO-8859-*, windows-125x, Shift_JIS, EUC-*, GBK, Big5 …). Stateful or wide charsets
/// (ISO-2022-*, HZ, UTF-7, UTF-16/32, EBCDIC) are rewritten through UTF-8 and encoded back.
/// </summary>
internal sealed class PartCharset
{
    // ISO-2022-JP/KR/CN (escape sequences switch to 7-bit double-byte sets), HZ-GB-2312, UTF-7.
    private static readonly HashSet<int> Stateful = [50220, 50221, 50222, 50225, 50227, 50229, 52936, 65000];

    private static readonly byte[] AsciiBytes = Enumerable.Range(0, 128).Select(static b => (byte)b).ToArray();

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, PartCharset?> Cache = new(StringComparer.OrdinalIgnoreCase);

    static PartCharset() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    private PartCharset(Encoding encoding, bool inPlace)
    {
        Encoding = encoding;
        InPlace = inPlace;
    }

    /// <summary>Decodes attribute values and encodes tracked URLs; replacement fallback, so it never throws.</summary>
    public Encoding Encoding { get; }

    /// <summary>False when the content must go through UTF-8 (see the type's summary).</summary>
    public bool InPlace { get; }

    /// <summary>Null when the charset is unknown. No charset parameter means US-ASCII (RFC 2045 §5.2); read as UTF-8.</summary>
    public static PartCharset? Resolve(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            return Cache.GetOrAdd(string.Empty, static _ => new PartCharset(new UTF8Encoding(false), inPlace: true));

        // Bounded: a sender can name any charset, so only known ones are remembered.
        if (Cache.TryGetValue(name, out PartCharset? known))
            return known;
        PartCharset? resolved = Load(name);
        if (resolved is not null && Cache.Count < 256)
            Cache.TryAdd(name, resolved);
        return resolved;
    }

    private static PartCharset? Load(string name)
    {
        Encoding encoding;
        try
        {
            encoding = Encoding.GetEncoding(name.Trim().Trim('"'));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            return null;
        }

        bool asciiCompatible = !Stateful.Contains(encoding.CodePage)
            && encoding.GetBytes(Encoding.ASCII.GetString(AsciiBytes)).AsSpan().SequenceEqual(AsciiBytes);
        return new PartCharset(encoding, asciiCompatible);
    }

    /// <summary>The same charset, throwing on bytes or characters it cannot represent (for the UTF-8 round trip).</summary>
    public Encoding Strict() =>
        Encoding.GetEncoding(Encoding.CodePage, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
}
