using System.Buffers;
using System.Text;

namespace Beacon.Smtp;

/// <summary>One SMTP reply: a three-digit code, an optional RFC 3463 enhanced status code and one or more text lines.</summary>
public sealed record SmtpReply(int Code, string? Enhanced, IReadOnlyList<string> Lines)
{
    public SmtpReply(int code, string? enhanced, string text)
        : this(code, enhanced, [text])
    {
    }

    public bool IsPositive => Code < 400;

    public bool IsTransientFailure => Code is >= 400 and < 500;

    /// <summary>The first line's text without code and enhanced code.</summary>
    public string Text => Lines[0];

    /// <summary>Writes the reply in wire form: "250-…" continuation lines and a final "250 …" line (RFC 5321 §4.2.1).</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        for (var i = 0; i < Lines.Count; i++)
        {
            var separator = i == Lines.Count - 1 ? ' ' : '-';
            var line = Enhanced is null
                ? $"{Code}{separator}{Lines[i]}\r\n"
                : $"{Code}{separator}{Enhanced} {Lines[i]}\r\n";
            var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length));
            output.Advance(Encoding.UTF8.GetBytes(line, span));
        }
    }

    public override string ToString()
    {
        var writer = new ArrayBufferWriter<byte>();
        WriteTo(writer);
        return Encoding.UTF8.GetString(writer.WrittenSpan).TrimEnd('\r', '\n');
    }
}
