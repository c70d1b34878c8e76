using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Beacon.Rendering;
using MimeKit.Utils;

namespace Beacon.Delivery;

/// <summary>
/// Writes a delivery status notification (RFC 3464) as multipart/report (RFC 6522): a human-readable text part,
/// a message/delivery-status part and the original header block as text/rfc822-headers. The result is 7-bit
/// except in one case: when a recipient address is not ASCII, the status part is message/global-delivery-status
/// with the "utf-8" address type (RFC 6533 §3) in quoted-printable, and an original header block with 8-bit bytes
/// becomes message/global-headers (RFC 6533 §6.4), also quoted-printable. Only when the envelope sender itself is
/// not ASCII does the To field carry raw UTF-8 (RFC 6532), and such a report can only travel with SMTPUTF8 anyway.
/// <para>The caller sends it with the null reverse-path <c>MAIL FROM:&lt;&gt;</c> (RFC 3464 §2.3.3 via RFC 5321 §4.5.5),
/// and never for a message whose own sender was null: <see cref="Write"/> refuses that too.</para>
/// </summary>
internal static partial class DsnWriter
{
    /// <summary>Of the original message only the header block is returned, up to this many bytes (whole fields).</summary>
    public const int MaxOriginalHeaderBytes = 64 * 1024;

    private const int FoldAt = 76;

    public static byte[] Write(DsnReport report, Stream original, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(original);
        if (string.IsNullOrWhiteSpace(report.EnvelopeSender))
            throw new ArgumentException("No DSN is ever sent to the null sender (RFC 5321 §4.5.5): it would loop.", nameof(report));
        if (report.Recipients.Count == 0)
            throw new ArgumentException("A DSN reports at least one recipient.", nameof(report));
        if (!Smtp.Mailbox.IsDomain(report.ReportingMta) || !report.ReportingMta.All(char.IsAscii))
            throw new ArgumentException($"'{report.ReportingMta}' is not an ASCII host name.", nameof(report));

        bool global = report.Recipients.Any(static r => !r.Address.All(char.IsAscii));
        byte[] headers = OriginalHeaders(original);
        string boundary = "=_beacon_" + Guid.NewGuid().ToString("N");
        var text = new StringBuilder();
        text.Append("From: Mail Delivery System <MAILER-DAEMON@").Append(report.ReportingMta).Append(">\r\n");
        text.Append("To: <").Append(Clean(report.EnvelopeSender, utf8: true)).Append(">\r\n");
        text.Append("Subject: ").Append(report.Delayed ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender").Append("\r\n");
        text.Append("Date: ").Append(DateUtils.FormatDate(now)).Append("\r\n");
        text.Append("Message-ID: <").Append(Guid.NewGuid().ToString("N")).Append('@').Append(report.ReportingMta).Append(">\r\n");
        // RFC 3834 §5: marks the report as automatic, so auto-responders do not answer it.
        text.Append("Auto-Submitted: auto-replied\r\n");
        text.Append("MIME-Version: 1.0\r\n");
        text.Append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"").Append(boundary).Append("\"\r\n\r\n");
        text.Append("This is a MIME-encapsulated message.\r\n\r\n");

        var output = new MemoryStream();
        Append(output, text);
        Part(output, boundary, "Notification", "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(HumanText(report)));
        Part(output, boundary, report.Delayed ? "Delay report" : "Delivery report",
            global ? "message/global-delivery-status" : "message/delivery-status", Encoding.UTF8.GetBytes(StatusFields(report, global)));
        bool eightBit = headers.Any(static b => b >= 0x80);
        Part(output, boundary, "Undelivered Message Headers", eightBit ? "message/global-headers" : "text/rfc822-headers", headers);
        Append(output, new StringBuilder("--").Append(boundary).Append("--\r\n"));
        return output.ToArray();
    }

    private static string HumanText(DsnReport report)
    {
        var text = new StringBuilder();
        text.Append("This is the mail system at ").Append(report.ReportingMta).Append(".\r\n\r\n");
        text.Append(report.Delayed
            ? "Your message has not been delivered yet to the recipients below. Delivery will be\r\nretried; you do not need to send it again.\r\n\r\n"
            : "Your message could not be delivered to the recipients below. The headers of\r\nyour message are attached.\r\n\r\n");
        foreach (DsnRecipient recipient in report.Recipients)
        {
            text.Append('<').Append(Clean(recipient.Address, utf8: true)).Append(">: ");
            if (recipient.RemoteMta is not null && recipient.Diagnostic is not null)
                text.Append("host ").Append(Clean(recipient.RemoteMta, utf8: false)).Append(" said: ");
            text.Append(Clean(recipient.Diagnostic ?? "Status " + Status(recipient.Status, report.Delayed), utf8: true)).Append("\r\n\r\n");
        }

        text.Append("Message id: ").Append(Clean(report.MessageId, utf8: false)).Append("\r\n");
        return text.ToString();
    }

    /// <summary>The message/delivery-status body: per-message fields, then a block per recipient (RFC 3464 §2.1).</summary>
    private static string StatusFields(DsnReport report, bool global)
    {
        var text = new StringBuilder();
        Field(text, "Reporting-MTA", "dns; " + report.ReportingMta);
        Field(text, "X-Beacon-Message-ID", Clean(report.MessageId, utf8: false));
        Field(text, "Arrival-Date", DateUtils.FormatDate(report.ArrivalDate));
        foreach (DsnRecipient recipient in report.Recipients)
        {
            text.Append("\r\n");
            bool ascii = recipient.Address.All(char.IsAscii);
            Field(text, "Final-Recipient", (ascii ? "rfc822; " : "utf-8; ") + Clean(recipient.Address, utf8: global));
            Field(text, "Action", report.Delayed ? "delayed" : "failed");
            Field(text, "Status", Status(recipient.Status, report.Delayed));
            if (recipient.RemoteMta is not null)
                Field(text, "Remote-MTA", "dns; " + Clean(recipient.RemoteMta, utf8: false));
            if (recipient.Diagnostic is not null)
                Field(text, "Diagnostic-Code", Clean(recipient.DiagnosticType, utf8: false) + "; " + Clean(recipient.Diagnostic, utf8: global));
            if (recipient.LastAttempt is { } last)
                Field(text, "Last-Attempt-Date", DateUtils.FormatDate(last));
        }

        return text.ToString();
    }

    /// <summary>As given when well formed: a failure after retries may keep the 4.x.y of its last reply, as Postfix's do.</summary>
    private static string Status(string status, bool delayed) =>
        StatusCode().IsMatch(status) ? status : delayed ? "4.0.0" : "5.0.0";

    /// <summary>"Name: value", folded at spaces so lines stay near 76 characters (RFC 5322 §2.2.3).</summary>
    private static void Field(StringBuilder text, string name, string value)
    {
        int lineStart = text.Length;
        text.Append(name).Append(':');
        foreach (string word in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (text.Length - lineStart + 1 + word.Length > FoldAt && text.Length - lineStart > name.Length + 1)
            {
                text.Append("\r\n");
                lineStart = text.Length;
            }

            text.Append(' ').Append(word);
        }

        text.Append("\r\n");
    }

    /// <summary>One body part: 7bit when it is ASCII with short lines, else quoted-printable.</summary>
    private static void Part(Stream output, string boundary, string description, string contentType, byte[] content)
    {
        bool sevenBit = content.All(static b => b < 0x80) && PartRewriter.LongestLine(content) <= 998;
        Append(output, new StringBuilder("--").Append(boundary).Append("\r\nContent-Description: ").Append(description)
            .Append("\r\nContent-Type: ").Append(contentType)
            .Append("\r\nContent-Transfer-Encoding: ").Append(sevenBit ? "7bit" : "quoted-printable").Append("\r\n\r\n"));
        if (sevenBit)
        {
            output.Write(content);
        }
        else
        {
            using var buffer = new OutputBuffer(output);
            QuotedPrintable.Encode(content, "\r\n"u8, buffer);
        }

        if (content.Length > 0 && content[^1] != '\n')
            output.Write("\r\n"u8);
        output.Write("\r\n"u8);
    }

    /// <summary>The original's header block, whole fields up to the bound, with CRLF line breaks.</summary>
    private static byte[] OriginalHeaders(Stream original)
    {
        byte[] head = ArrayPool<byte>.Shared.Rent(MaxOriginalHeaderBytes);
        try
        {
            int read = original.ReadAtLeast(head.AsSpan(0, MaxOriginalHeaderBytes), MaxOriginalHeaderBytes, throwOnEndOfStream: false);
            List<HeaderField> fields = HeaderField.Parse(head.AsSpan(0, read), out int length);
            int end = 0;
            foreach (HeaderField field in fields)
            {
                // A field cut by the bound (or a last line with no line break) is left out, not half-copied.
                if (field.End > length || (field.End == read && read == MaxOriginalHeaderBytes) || head[field.End - 1] != '\n')
                    break;
                end = field.End;
            }

            var copy = new MemoryStream(end + 64);
            for (int i = 0; i < end;)
            {
                int next = HeaderField.LineEnd(head, i);
                ReadOnlySpan<byte> line = head.AsSpan(i, next - i).TrimEnd("\r\n"u8);
                copy.Write(line);
                copy.Write("\r\n"u8);
                i = next;
            }

            return copy.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    /// <summary>Text from elsewhere (a reply, an address) goes into a field: no controls, and no non-ASCII where the part is 7-bit.</summary>
    private static string Clean(string value, bool utf8)
    {
        var text = new StringBuilder(value.Length);
        foreach (char c in value)
            text.Append(char.IsControl(c) || (!utf8 && c > 127) ? '?' : c);
        return text.ToString();
    }

    private static void Append(Stream output, StringBuilder text) => output.Write(Encoding.UTF8.GetBytes(text.ToString()));

    [GeneratedRegex(@"^[245]\.\d{1,3}\.\d{1,3}$")]
    private static partial Regex StatusCode();
}
