namespace Beacon.Smtp;

/// <summary>A reverse-path or forward-path with its ESMTP parameters. <see cref="Mailbox"/> is null for the null path "&lt;&gt;".</summary>
public sealed record MailPath(Mailbox? Mailbox, IReadOnlyDictionary<string, string?> Parameters)
{
    /// <summary>The address as given by the client, without angle brackets; empty for the null path.</summary>
    public string Address => Mailbox?.Address ?? string.Empty;

    /// <summary>
    /// Parses "FROM:" / "TO:" arguments: Path [SP Mail-parameters] (RFC 5321 §4.1.1.2, §4.1.2), where
    /// Path = "&lt;" [ A-d-l ":" ] Mailbox "&gt;" and esmtp-param = esmtp-keyword ["=" esmtp-value].
    /// Like Postfix, a space after the colon and a path without angle brackets are tolerated; a source route
    /// (A-d-l) is accepted and ignored as §4.1.1.3 requires.
    /// </summary>
    public static PathParseResult TryParse(string argument, string keyword, bool allowNull, bool allowPostmaster, out MailPath? path)
    {
        path = null;
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
        {
            return PathParseResult.Syntax;
        }

        var rest = argument[keyword.Length..].TrimStart(' ');
        string pathText;
        string parameterText;
        if (rest.StartsWith('<'))
        {
            var close = FindClosingBracket(rest);
            if (close < 0)
            {
                return PathParseResult.Syntax;
            }

            pathText = rest[1..close];
            parameterText = rest[(close + 1)..];
            if (parameterText.Length > 0 && parameterText[0] != ' ')
            {
                return PathParseResult.Syntax;
            }
        }
        else
        {
            var space = rest.IndexOf(' ');
            pathText = space < 0 ? rest : rest[..space];
            parameterText = space < 0 ? string.Empty : rest[space..];
            if (pathText.Length == 0)
            {
                return PathParseResult.Syntax;
            }
        }

        if (System.Text.Encoding.UTF8.GetByteCount(pathText) + 2 > Mailbox.MaxPathOctets)
        {
            return PathParseResult.TooLong;
        }

        // A-d-l = At-domain *( "," At-domain ) ":"  — obsolete source route, ignored.
        if (pathText.StartsWith('@'))
        {
            var colon = pathText.IndexOf(':');
            if (colon < 0)
            {
                return PathParseResult.Syntax;
            }

            pathText = pathText[(colon + 1)..];
        }

        if (!TryParseParameters(parameterText, out var parameters))
        {
            return PathParseResult.Syntax;
        }

        if (pathText.Length == 0)
        {
            if (!allowNull)
            {
                return PathParseResult.Syntax;
            }

            path = new MailPath(null, parameters);
            return PathParseResult.Ok;
        }

        if (allowPostmaster && pathText.Equals("postmaster", StringComparison.OrdinalIgnoreCase))
        {
            path = new MailPath(new Mailbox(pathText, string.Empty), parameters);
            return PathParseResult.Ok;
        }

        if (!Mailbox.TryParse(pathText, out var mailbox))
        {
            return PathParseResult.Syntax;
        }

        path = new MailPath(mailbox, parameters);
        return PathParseResult.Ok;
    }

    private static int FindClosingBracket(string text)
    {
        var quoted = false;
        for (var i = 1; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '\\' when quoted:
                    i++;
                    break;
                case '"':
                    quoted = !quoted;
                    break;
                case '>' when !quoted:
                    return i;
            }
        }

        return -1;
    }

    /// <summary>esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"); esmtp-value = 1*(%d33-60 / %d62-126 / UTF-8).</summary>
    private static bool TryParseParameters(string text, out Dictionary<string, string?> parameters)
    {
        parameters = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var token in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = token.IndexOf('=');
            var key = equals < 0 ? token : token[..equals];
            var value = equals < 0 ? null : token[(equals + 1)..];
            if (key.Length == 0 || !char.IsAsciiLetterOrDigit(key[0]) || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }

            if (value is not null && (value.Length == 0 || value.Any(c => c is < (char)33 or '=' or (char)127)))
            {
                return false;
            }

            if (!parameters.TryAdd(key, value))
            {
                return false;
            }
        }

        return true;
    }
}

public enum PathParseResult
{
    Ok,
    Syntax,
    TooLong,
}
