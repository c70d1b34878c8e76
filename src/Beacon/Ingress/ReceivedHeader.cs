using System.Globalization;
using System.Text;

namespace Beacon.Ingress;

/// <summary>
/// The trace header Beacon prepends (RFC 5321 §4.4, RFC 5322 §3.6.7, "with" names of RFC 3848 and RFC 6531):
/// Received: from helo ([ip]) by host (Beacon) with ESMTPSA id msgid for &lt;rcpt&gt;; date
/// </summary>
internal static class ReceivedHeader
{
    public static byte[] Build(string? helo, string remoteIp, string hostName, string protocol, string messageId, string? singleRecipient, DateTimeOffset now, bool utf8)
    {
        var builder = new StringBuilder(256);
        builder.Append("Received: from ").Append(Clean(helo ?? "unknown", utf8)).Append(" ([").Append(remoteIp).Append("])\r\n");
        builder.Append("\tby ").Append(hostName).Append(" (Beacon) with ").Append(protocol).Append(" id ").Append(messageId);
        if (singleRecipient is not null)
        {
            builder.Append("\r\n\tfor <").Append(Clean(singleRecipient, utf8)).Append('>');
        }

        builder.Append("; ").Append(now.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture))
            .Append(now.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", string.Empty, StringComparison.Ordinal)).Append("\r\n");
        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    /// <summary>Client-supplied text goes into a header: no parentheses games, no non-ASCII without SMTPUTF8.</summary>
    private static string Clean(string value, bool utf8)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(c is '(' or ')' or '\\' or '<' or '>' || (!utf8 && c > 127) || char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }
}
