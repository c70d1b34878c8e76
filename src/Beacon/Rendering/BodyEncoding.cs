namespace Beacon.Rendering;

/// <summary>A Content-Transfer-Encoding the renderer can decode and write again (RFC 2045 §6.1).</summary>
internal enum BodyEncoding
{
    SevenBit,
    EightBit,
    Binary,
    QuotedPrintable,
    Base64,
}
