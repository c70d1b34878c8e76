namespace Beacon.Smtp;

/// <summary>
/// The service extensions a server announced in its EHLO reply (RFC 5321 §4.1.1.1): every line after the first is
/// <c>ehlo-line = ehlo-keyword *( SP ehlo-param )</c>. Keywords compare case-insensitively.
/// </summary>
public sealed class EhloCapabilities
{
    private readonly Dictionary<string, string[]> _keywords;

    private EhloCapabilities(Dictionary<string, string[]> keywords)
    {
        _keywords = keywords;
        var auth = new List<string>();
        foreach (var (keyword, parameters) in keywords)
        {
            // "AUTH=LOGIN PLAIN" is the pre-standard form some servers still send next to "AUTH LOGIN PLAIN".
            if (keyword.Equals("AUTH", StringComparison.OrdinalIgnoreCase) || keyword.StartsWith("AUTH=", StringComparison.OrdinalIgnoreCase))
            {
                var first = keyword.Length > 5 ? [keyword[5..]] : Array.Empty<string>();
                auth.AddRange(first.Concat(parameters).Select(m => m.ToUpperInvariant()).Where(m => !auth.Contains(m)));
            }
        }

        AuthMechanisms = auth;
        if (keywords.TryGetValue("SIZE", out var size))
        {
            // RFC 1870 §4: "SIZE" alone or "SIZE 0" means no fixed limit.
            MaxSize = size.Length > 0 && long.TryParse(size[0], System.Globalization.NumberStyles.None, null, out var max) && max > 0 ? max : null;
        }
    }

    /// <summary>What a server that answered HELO (or nothing) supports: no extensions.</summary>
    public static EhloCapabilities None { get; } = new([]);

    public bool Pipelining => Supports("PIPELINING");

    /// <summary>SIZE was announced (RFC 1870): the SIZE= parameter of MAIL may be sent.</summary>
    public bool Size => Supports("SIZE");

    /// <summary>The server's fixed message size limit; null when it announced none (or no SIZE at all).</summary>
    public long? MaxSize { get; }

    public bool EightBitMime => Supports("8BITMIME");

    public bool SmtpUtf8 => Supports("SMTPUTF8");

    public bool StartTls => Supports("STARTTLS");

    public bool Chunking => Supports("CHUNKING");

    public bool EnhancedStatusCodes => Supports("ENHANCEDSTATUSCODES");

    /// <summary>SASL mechanisms of the AUTH keyword (RFC 4954 §3), upper case, in the server's order.</summary>
    public IReadOnlyList<string> AuthMechanisms { get; }

    /// <summary>Every keyword announced, as sent.</summary>
    public IEnumerable<string> Keywords => _keywords.Keys;

    public bool Supports(string keyword) => _keywords.ContainsKey(keyword);

    /// <summary>The parameters after <paramref name="keyword"/>, or null when it was not announced.</summary>
    public IReadOnlyList<string>? Parameters(string keyword) => _keywords.GetValueOrDefault(keyword);

    /// <summary>Reads the extensions from a positive EHLO reply; its first line is the server's name and greeting.</summary>
    public static EhloCapabilities Parse(SmtpReply ehloReply)
    {
        var keywords = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in ehloReply.Lines.Skip(1))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length > 0)
            {
                keywords.TryAdd(parts[0], parts[1..]);
            }
        }

        return new EhloCapabilities(keywords);
    }

    public override string ToString() => string.Join(' ', _keywords.Keys);
}
