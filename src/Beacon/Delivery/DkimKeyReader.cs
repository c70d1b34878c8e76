using Beacon.Config;

namespace Beacon.Delivery;

/// <summary>Checks one <see cref="DkimKeyOptions"/> and loads its key; every problem is reported with its key path.</summary>
internal static class DkimKeyReader
{
    public static DkimKey? Read(DkimKeyOptions options, string path, List<string> errors)
    {
        int before = errors.Count;
        string domain = options.Domain.Trim().TrimEnd('.').ToLowerInvariant();
        if (!Smtp.Mailbox.IsDomain(domain) || !domain.All(char.IsAscii) || !domain.Contains('.'))
            errors.Add($"{path}:domain: '{options.Domain}' is not a domain name in ASCII (use the A-label xn--… form)");
        // Selectors are sub-domains of _domainkey (§3.1), and may contain dots.
        if (!Smtp.Mailbox.IsDomain(options.Selector) || !options.Selector.All(char.IsAscii))
            errors.Add($"{path}:selector: '{options.Selector}' is not a selector (letters, digits, hyphens, dots)");
        DkimAlgorithm? algorithm = options.Algorithm.ToLowerInvariant() switch
        {
            "rsa-sha256" => DkimAlgorithm.RsaSha256,
            "ed25519-sha256" => DkimAlgorithm.Ed25519Sha256,
            _ => null,
        };
        if (algorithm is null)
            errors.Add($"{path}:algorithm: must be rsa-sha256 or ed25519-sha256, not '{options.Algorithm}'");
        DkimCanonicalization? header = Canonicalization(options.HeaderCanonicalization, $"{path}:header_canonicalization", errors);
        DkimCanonicalization? body = Canonicalization(options.BodyCanonicalization, $"{path}:body_canonicalization", errors);
        for (int i = 0; i < options.Headers.Count; i++)
        {
            string name = options.Headers[i];
            if (name.Length == 0 || !name.All(static c => c is > ' ' and <= '~' and not ':'))
                errors.Add($"{path}:headers:{i}: '{name}' is not a header field name");
        }

        if (options.Headers.Count > 0 && !options.Headers.Contains("From", StringComparer.OrdinalIgnoreCase))
            errors.Add($"{path}:headers: must include From (RFC 6376 §5.4)");

        string? pem = null;
        if (string.IsNullOrWhiteSpace(options.PrivateKey))
        {
            errors.Add($"{path}:private_key: must be the path of a PEM file");
        }
        else
        {
            try
            {
                pem = File.ReadAllText(options.PrivateKey);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                errors.Add($"{path}:private_key: cannot read '{options.PrivateKey}': {e.Message}");
            }
        }

        if (pem is null || algorithm is null)
            return null;
        var settings = new DkimKeySettings(
            options.Headers.Count > 0 ? [.. options.Headers] : DkimSigning.DefaultHeaders,
            header ?? DkimCanonicalization.Relaxed, body ?? DkimCanonicalization.Relaxed, options.SignSubdomains);
        DkimKey? key = DkimKey.TryLoad(domain, options.Selector.ToLowerInvariant(), algorithm.Value, pem, settings, out string? error);
        if (key is null)
        {
            errors.Add($"{path}:private_key: '{options.PrivateKey}' is {error}");
            return null;
        }

        if (errors.Count > before)
        {
            key.Dispose();
            return null;
        }

        return key;
    }

    private static DkimCanonicalization? Canonicalization(string value, string path, List<string> errors)
    {
        switch (value.ToLowerInvariant())
        {
            case "relaxed":
                return DkimCanonicalization.Relaxed;
            case "simple":
                return DkimCanonicalization.Simple;
            default:
                errors.Add($"{path}: must be relaxed or simple, not '{value}'");
                return null;
        }
    }
}
