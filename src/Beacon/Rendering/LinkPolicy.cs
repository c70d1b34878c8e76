using System.Text;

namespace Beacon.Rendering;

/// <summary>Which link targets are tracked, and how targets and link names are normalised (spec §F8.3, §5 Q12, Q16).</summary>
internal static class LinkPolicy
{
    public const int MaxLinkNameBytes = 63;

    /// <summary>
    /// What a browser follows: leading and trailing HTML white space trimmed, and every tab, CR and LF removed
    /// (URL Standard, basic URL parser step 3), so a QP soft break or a wrapped href does not end up in the target.
    /// </summary>
    public static string CleanTarget(string href)
    {
        string trimmed = href.Trim(' ', '\t', '\n', '\f', '\r');
        if (trimmed.AsSpan().IndexOfAny('\t', '\n', '\r') < 0)
            return trimmed;
        return trimmed.Replace("\t", string.Empty, StringComparison.Ordinal)
            .Replace("\n", string.Empty, StringComparison.Ordinal)
            .Replace("\r", string.Empty, StringComparison.Ordinal);
    }

    /// <summary>An http or https URL (scheme case-insensitive) with a host that is not the tracking domain.</summary>
    public static bool IsTrackable(string target, string trackingDomain)
    {
        int authorityStart;
        if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            authorityStart = 7;
        else if (target.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            authorityStart = 8;
        else
            return false;
        ReadOnlySpan<char> authority = target.AsSpan(authorityStart);
        int end = authority.IndexOfAny("/?#\\");
        if (end >= 0)
            authority = authority[..end];
        int at = authority.LastIndexOf('@');
        if (at >= 0)
            authority = authority[(at + 1)..];
        if (authority.IsEmpty)
            return false;
        return !IsTrackingDomain(authority, trackingDomain);
    }

    /// <summary><c>data-msys-linkname</c> cut to 63 UTF-8 bytes without splitting a character; null when empty.</summary>
    public static string? TruncateName(string? name)
    {
        if (string.IsNullOrEmpty(name))
            return null;
        if (Encoding.UTF8.GetByteCount(name) <= MaxLinkNameBytes)
            return name;
        int bytes = 0;
        int i = 0;
        while (i < name.Length)
        {
            int width = char.IsSurrogatePair(name, i) ? 2 : 1;
            int size = Encoding.UTF8.GetByteCount(name.AsSpan(i, width));
            if (bytes + size > MaxLinkNameBytes)
                break;
            bytes += size;
            i += width;
        }

        return name[..i];
    }

    private static bool IsTrackingDomain(ReadOnlySpan<char> authority, string trackingDomain)
    {
        if (string.IsNullOrEmpty(trackingDomain))
            return false;
        if (authority.Equals(trackingDomain, StringComparison.OrdinalIgnoreCase))
            return true;

        // A tracking domain without a port matches the host on any port; one with a port matches only that port.
        if (trackingDomain.Contains(':', StringComparison.Ordinal) && !trackingDomain.StartsWith('['))
            return false;
        int colon = authority.LastIndexOf(':');
        ReadOnlySpan<char> host = colon >= 0 && !authority.EndsWith("]") ? authority[..colon] : authority;
        return host.Equals(trackingDomain, StringComparison.OrdinalIgnoreCase);
    }
}
