using System.Net;
using System.Net.Sockets;

namespace Beacon.Smtp;

/// <summary>An RFC 5321 mailbox: local part and domain (or address literal), as the client wrote them.</summary>
public sealed record Mailbox(string LocalPart, string Domain)
{
    public const int MaxLocalPartOctets = 64;
    public const int MaxDomainOctets = 255;
    public const int MaxPathOctets = 256;

    /// <summary>local@domain; just the local part for RCPT TO:&lt;Postmaster&gt; (RFC 5321 §4.1.1.3), which has no domain.</summary>
    public string Address => Domain.Length == 0 ? LocalPart : $"{LocalPart}@{Domain}";

    /// <summary>True when the address needs SMTPUTF8 (RFC 6531): any non-ASCII character.</summary>
    public bool IsInternational => !System.Text.Ascii.IsValid(Address);

    public override string ToString() => Address;

    /// <summary>
    /// Mailbox = Local-part "@" ( Domain / address-literal )                      (RFC 5321 §4.1.2)
    /// Local-part = Dot-string / Quoted-string; Dot-string = Atom *("." Atom)
    /// Quoted-string = DQUOTE *QcontentSMTP DQUOTE; quoted-pairSMTP = %d92 %d32-126
    /// qtextSMTP = %d32-33 / %d35-91 / %d93-126; RFC 6531 adds UTF8-non-ascii to atext, qtext and sub-domain.
    /// </summary>
    public static bool TryParse(string text, out Mailbox? mailbox)
    {
        mailbox = null;
        int at;
        if (text.StartsWith('"'))
        {
            var i = 1;
            while (i < text.Length && text[i] != '"')
            {
                if (text[i] == '\\')
                {
                    if (i + 1 >= text.Length || text[i + 1] < 32 || text[i + 1] == 127)
                    {
                        return false;
                    }

                    i += 2;
                    continue;
                }

                if (text[i] < 32 || text[i] == 127)
                {
                    return false;
                }

                i++;
            }

            if (i >= text.Length || i + 1 >= text.Length || text[i + 1] != '@')
            {
                return false;
            }

            at = i + 1;
        }
        else
        {
            at = text.LastIndexOf('@');
            if (at <= 0 || !IsDotString(text.AsSpan(0, at)))
            {
                return false;
            }
        }

        var local = text[..at];
        var domain = text[(at + 1)..];
        if (Utf8Length(local) > MaxLocalPartOctets || Utf8Length(domain) > MaxDomainOctets)
        {
            return false;
        }

        if (!(IsDomain(domain) || IsAddressLiteral(domain)))
        {
            return false;
        }

        mailbox = new Mailbox(local, domain);
        return true;
    }

    /// <summary>Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str] (or a U-label, RFC 6531).</summary>
    public static bool IsDomain(ReadOnlySpan<char> domain)
    {
        if (domain.IsEmpty)
        {
            return false;
        }

        foreach (var range in domain.Split('.'))
        {
            var label = domain[range];
            if (label.IsEmpty || label.Length > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c > 127))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>address-literal = "[" ( IPv4-address-literal / IPv6-address-literal / General-address-literal ) "]".</summary>
    private static bool IsAddressLiteral(string domain)
    {
        if (domain.Length < 3 || domain[0] != '[' || domain[^1] != ']')
        {
            return false;
        }

        var inner = domain[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.TryParse(inner[5..], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        }

        if (IPAddress.TryParse(inner, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork && inner.Count(c => c == '.') == 3)
        {
            return true;
        }

        // General-address-literal = Standardized-tag ":" 1*dcontent; dcontent = %d33-90 / %d94-126
        var colon = inner.IndexOf(':');
        return colon > 0 && IsDomain(inner.AsSpan(0, colon)) && colon < inner.Length - 1
            && inner[(colon + 1)..].All(c => c is >= (char)33 and <= (char)90 or >= (char)94 and <= (char)126);
    }

    private static bool IsDotString(ReadOnlySpan<char> local)
    {
        foreach (var range in local.Split('.'))
        {
            var atom = local[range];
            if (atom.IsEmpty)
            {
                return false;
            }

            foreach (var c in atom)
            {
                if (!IsAtext(c))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>atext (RFC 5322 §3.2.3) plus UTF8-non-ascii (RFC 6532).</summary>
    private static bool IsAtext(char c) =>
        char.IsAsciiLetterOrDigit(c) || c > 127 || "!#$%&'*+-/=?^_`{|}~".Contains(c);

    private static int Utf8Length(string value) => System.Text.Encoding.UTF8.GetByteCount(value);
}
