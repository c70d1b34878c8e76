using System.Text.RegularExpressions;
using Beacon.Smtp;

namespace Beacon.Policy;

/// <summary>Turns vctx:set_code(code, text) into a reply; text may start with its own enhanced code ("5.7.1 …").</summary>
internal static partial class ScriptReply
{
    public static SmtpReply From(int code, string? text)
    {
        var line = (text ?? string.Empty).ReplaceLineEndings(" ").Trim();
        var match = Enhanced().Match(line);
        if (match.Success && match.Groups[1].Value[0] - '0' == code / 100)
        {
            return new SmtpReply(code, match.Groups[1].Value, match.Groups[2].Value.Length > 0 ? match.Groups[2].Value : "Rejected by policy");
        }

        return new SmtpReply(code, code >= 500 ? "5.7.1" : "4.7.1", line.Length > 0 ? line : "Rejected by policy");
    }

    [GeneratedRegex(@"^([245]\.\d{1,3}\.\d{1,3})(?:\s+(.*))?$")]
    private static partial Regex Enhanced();
}
