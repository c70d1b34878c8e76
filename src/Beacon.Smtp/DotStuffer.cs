using System.Buffers;

namespace Beacon.Smtp;

/// <summary>
/// Encodes message content for DATA (RFC 5321 §4.5.2), the inverse of <see cref="DotUnstuffer"/>: a line that
/// starts with "." gets another "." in front, and the content ends with CRLF "." CRLF (a CRLF is added first when
/// the content doesn't end with one). Feed it any chunking; state carries across calls.
/// </summary>
/// <remarks>
/// <para>
/// Bare CR and bare LF are sent as CRLF. RFC 5321 §2.3.8 forbids them on the wire, receivers increasingly reject
/// them (the SMTP smuggling fixes of 2023-24, e.g. Postfix's smtpd_forbid_bare_newline) and "LF . LF" would let
/// content end a message early at a lax receiver. Converting (as Postfix and Exim do) rather than refusing the
/// message keeps mail flowing; content that is CRLF-clean, as Beacon's renderer writes it, goes out byte for byte.
/// </para>
/// <para>
/// Only line starts with a dot and bare line endings need work, so the bytes between them are copied in one
/// piece: a clean 1 MB message is a handful of vectorised scans and copies, not one write per line.
/// </para>
/// </remarks>
public sealed class DotStuffer
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private bool _atLineStart = true;
    private bool _pendingCr;

    /// <summary>Octets written so far, stuffing and the end line included.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Encodes the next piece of content.</summary>
    public void Write(ReadOnlySpan<byte> content, IBufferWriter<byte> output)
    {
        if (content.IsEmpty)
        {
            return;
        }

        var i = 0;
        if (_pendingCr)
        {
            // A CR ended the previous piece: with this LF it is a CRLF, alone it is a bare CR. CRLF either way.
            _pendingCr = false;
            Emit(Crlf, output);
            _atLineStart = true;
            if (content[0] == (byte)'\n')
            {
                i = 1;
            }
        }

        if (_atLineStart && i < content.Length)
        {
            _atLineStart = false;
            if (content[i] == (byte)'.')
            {
                Emit("."u8, output);
            }
        }

        var run = i;
        while (i < content.Length)
        {
            var found = content[i..].IndexOfAny((byte)'\r', (byte)'\n');
            if (found < 0)
            {
                break;
            }

            var at = i + found;
            int next;
            if (content[at] == (byte)'\n')
            {
                Emit(content[run..at], output);
                Emit(Crlf, output);
                next = run = at + 1;
            }
            else if (at + 1 == content.Length)
            {
                Emit(content[run..at], output);
                _pendingCr = true;
                return;
            }
            else if (content[at + 1] == (byte)'\n')
            {
                next = at + 2; // a proper CRLF stays in the run
            }
            else
            {
                Emit(content[run..at], output);
                Emit(Crlf, output);
                next = run = at + 1;
            }

            if (next == content.Length)
            {
                _atLineStart = true;
                break;
            }

            if (content[next] == (byte)'.')
            {
                Emit(content[run..next], output);
                Emit("."u8, output);
                run = next; // the content's own dot is copied with the rest of the line
            }

            i = next;
        }

        Emit(content[run..], output);
    }

    /// <summary>Ends the content: CRLF if the last line is open, then the "." line. The stuffer can then be reused.</summary>
    public void Complete(IBufferWriter<byte> output)
    {
        if (_pendingCr || !_atLineStart)
        {
            Emit(Crlf, output);
        }

        Emit(".\r\n"u8, output);
        _pendingCr = false;
        _atLineStart = true;
    }

    private void Emit(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        if (!bytes.IsEmpty)
        {
            output.Write(bytes);
            BytesWritten += bytes.Length;
        }
    }
}
