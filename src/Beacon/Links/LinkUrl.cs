using System.Buffers;

namespace Beacon.Links;

/// <summary>
/// Finds the route and token in a tracked URL as clients hand it back (spec §F12.6): a full URL or just its path,
/// percent-encoded once or twice by mail clients, proxies and redirect wrappers, with a query string or fragment
/// appended, and the token padded with <c>=</c> or <c>~</c> or not at all.
/// </summary>
internal static class LinkUrl
{
    /// <summary>Base64url (RFC 4648 §5) without padding.</summary>
    public static readonly SearchValues<char> Alphabet = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>Longer input is refused before any work: a token is at most 8 KB and the rest is a host and a sublink.</summary>
    private const int MaxUrlChars = 16 * 1024;

    public static bool TryParse(string? url, out LinkKind route, out string token, out LinkRejection rejection)
    {
        route = default;
        token = string.Empty;
        rejection = LinkRejection.None;
        if (string.IsNullOrEmpty(url))
        {
            rejection = LinkRejection.Empty;
            return false;
        }

        if (url.Length > MaxUrlChars)
        {
            rejection = LinkRejection.TooLong;
            return false;
        }

        // The path is split before unescaping, so an escaped '/', '?' or '#' inside a sublink stays part of the sublink.
        // Only a URL escaped as a whole (no path of its own) is unescaped first; unescaping never grows the text.
        for (var pass = 0; ; pass++)
        {
            if (TrySplit(url, out route, out var raw, out rejection))
            {
                token = raw;
                for (var i = 0; i < 3 && token.Contains('%'); i++)
                {
                    token = Uri.UnescapeDataString(token);
                }

                return true;
            }

            if (pass == 3 || !url.Contains('%'))
            {
                return false;
            }

            url = Uri.UnescapeDataString(url);
        }
    }

    private static bool TrySplit(string url, out LinkKind route, out string token, out LinkRejection rejection)
    {
        route = default;
        token = string.Empty;
        rejection = LinkRejection.None;
        var path = url.AsSpan().Trim();
        var end = path.IndexOfAny('?', '#');
        if (end >= 0)
        {
            path = path[..end];
        }

        var scheme = path.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            path = path[(scheme + 3)..];
            var slash = path.IndexOf('/');
            path = slash < 0 ? [] : path[slash..];
        }

        path = path.TrimEnd('/');
        if (path.Length < 3 || path[0] != '/' || path[2] != '/')
        {
            rejection = path.Length == 2 && path[0] == '/' && path[1] is 'f' or 'q' or 'o' ? LinkRejection.Empty : LinkRejection.UnknownRoute;
            return false;
        }

        switch (path[1])
        {
            case 'f':
                route = LinkKind.Click;
                break;
            case 'q' or 'o':
                route = LinkKind.Open;
                if (path[3..].Contains('/'))
                {
                    rejection = LinkRejection.UnknownRoute; // sublinks are for clicks only
                    return false;
                }

                break;
            default:
                rejection = LinkRejection.UnknownRoute;
                return false;
        }

        token = path[(path.LastIndexOf('/') + 1)..].ToString();
        return true;
    }

    /// <summary>Removes up to two trailing pad characters, <c>=</c> or <c>~</c> (SparkPost's links use <c>~</c>).</summary>
    public static ReadOnlySpan<char> TrimPadding(ReadOnlySpan<char> token)
    {
        for (var i = 0; i < 2 && token.Length > 0 && token[^1] is '=' or '~'; i++)
        {
            token = token[..^1];
        }

        return token;
    }
}
