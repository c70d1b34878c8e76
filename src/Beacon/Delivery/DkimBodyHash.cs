using System.Security.Cryptography;

namespace Beacon.Delivery;

/// <summary>
/// The body hash (bh=) over the raw bytes that go on the wire, canonicalised while they stream through, so no
/// re-serialisation of the message can make the hash differ from what a verifier sees. RFC 6376 §3.4.3 simple:
/// lines as they are, trailing empty lines removed, an empty body is one CRLF. §3.4.4 relaxed: white space at line
/// ends removed, runs of WSP inside a line become one SP, trailing empty lines removed, an empty body stays empty.
/// In both, a body that does not end with CRLF gets one. A lone LF counts as CRLF, as it will on the wire (SMTP
/// DATA lines end in CRLF, and every verifier reads it so); a CR not followed by LF is an ordinary byte.
/// </summary>
internal sealed class DkimBodyHash : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly bool _relaxed;
    private readonly byte[] _buffer = new byte[8192];
    private int _buffered;
    private int _pendingLineBreaks;
    private bool _pendingSpace;
    private bool _pendingCr;
    private bool _anyContent;

    public DkimBodyHash(DkimCanonicalization canonicalization) => _relaxed = canonicalization == DkimCanonicalization.Relaxed;

    public void Append(ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            if (_pendingCr)
            {
                _pendingCr = false;
                if (b == '\n')
                {
                    EndLine();
                    continue;
                }

                Content((byte)'\r');
            }

            switch (b)
            {
                case (byte)'\r':
                    _pendingCr = true;
                    break;
                case (byte)'\n':
                    EndLine();
                    break;
                case (byte)' ' or (byte)'\t' when _relaxed:
                    // Emitted as one SP only if something other than white space follows on this line.
                    _pendingSpace = true;
                    break;
                default:
                    Content(b);
                    break;
            }
        }
    }

    /// <summary>The SHA-256 of the canonical body; call once, after the last <see cref="Append"/>.</summary>
    public byte[] Complete()
    {
        if (_pendingCr)
            Content((byte)'\r');
        // Trailing empty lines are dropped; the last line with content keeps (or gains) its CRLF.
        if (_anyContent || !_relaxed)
        {
            Put((byte)'\r');
            Put((byte)'\n');
        }

        Flush();
        return _hash.GetHashAndReset();
    }

    public void Dispose() => _hash.Dispose();

    private void EndLine()
    {
        _pendingSpace = false;
        _pendingLineBreaks++;
    }

    private void Content(byte b)
    {
        // Empty lines before content are kept; only those at the very end of the body are dropped.
        for (; _pendingLineBreaks > 0; _pendingLineBreaks--)
        {
            Put((byte)'\r');
            Put((byte)'\n');
        }

        if (_pendingSpace)
        {
            Put((byte)' ');
            _pendingSpace = false;
        }

        Put(b);
        _anyContent = true;
    }

    private void Put(byte b)
    {
        if (_buffered == _buffer.Length)
            Flush();
        _buffer[_buffered++] = b;
    }

    private void Flush()
    {
        _hash.AppendData(_buffer, 0, _buffered);
        _buffered = 0;
    }
}
