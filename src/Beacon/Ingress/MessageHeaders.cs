using System.Text;

namespace Beacon.Ingress;

/// <summary>
/// The header section of a received message as raw fields with their offsets (RFC 5322 §2.2, §3.2.2), read
/// without decoding, so that a field nobody touches is written back byte for byte and a policy can set, add or
/// remove fields. Reads at most <see cref="MaxSectionBytes"/>; a longer header section is cut there and the rest
/// counts as body.
/// </summary>
public sealed class MessageHeaders
{
    public const int MaxSectionBytes = 1024 * 1024;

    private MessageHeaders(List<HeaderField> fields, long bodyOffset)
    {
        Fields = fields;
        BodyOffset = bodyOffset;
    }

    public List<HeaderField> Fields { get; }

    /// <summary>A policy changed the fields: the header section must be written anew.</summary>
    public bool Changed { get; set; }

    /// <summary>Where the body (or the empty line before it) starts in the stream.</summary>
    public long BodyOffset { get; }

    /// <summary>Values of every field with this name, unfolded (CRLF removed before WSP, the WSP kept), in order.</summary>
    public IEnumerable<string> Values(string name) =>
        Fields.Where(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(f => f.Value);

    public static MessageHeaders Read(Stream stream)
    {
        var (buffer, length) = ReadSection(stream);
        var fields = new List<HeaderField>();
        var position = 0;
        while (position < length)
        {
            var lineEnd = LineEnd(buffer, position, length);
            if (lineEnd == position || IsBlankLine(buffer, position, lineEnd))
            {
                break; // the empty line that ends the header section
            }

            // A field runs on while the next line starts with WSP (folding).
            var end = lineEnd;
            while (end < length && buffer[end] is (byte)' ' or (byte)'\t')
            {
                end = LineEnd(buffer, end, length);
            }

            var colon = Array.IndexOf(buffer, (byte)':', position, end - position);
            if (colon <= position)
            {
                break; // not a header field: the body starts here (a message without the empty line)
            }

            fields.Add(new HeaderField(Encoding.UTF8.GetString(buffer, position, colon - position).TrimEnd(' ', '\t'), buffer.AsSpan(position, end - position).ToArray()));
            position = end;
        }

        return new MessageHeaders(fields, position);
    }

    /// <summary>The header section as bytes: untouched fields verbatim, new or changed ones as "Name: value" CRLF.</summary>
    public byte[] Serialize()
    {
        using var output = new MemoryStream();
        foreach (var field in Fields)
        {
            output.Write(field.Raw);
        }

        return output.ToArray();
    }

    /// <summary>
    /// Reads until the empty line that ends the header section (or <see cref="MaxSectionBytes"/>), in growing
    /// steps: a typical section costs one 8 KB read, not a megabyte buffer per message.
    /// </summary>
    private static (byte[] Buffer, int Length) ReadSection(Stream stream)
    {
        var buffer = new byte[8192];
        var length = 0;
        while (true)
        {
            var read = stream.Read(buffer, length, buffer.Length - length);
            var searchFrom = Math.Max(0, length - 3);
            length += read;
            if (read == 0 || buffer.AsSpan(searchFrom, length - searchFrom).IndexOf("\n\r\n"u8) >= 0
                || buffer.AsSpan(searchFrom, length - searchFrom).IndexOf("\n\n"u8) >= 0 || length == MaxSectionBytes)
            {
                return (buffer, length);
            }

            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, Math.Min(buffer.Length * 4, MaxSectionBytes));
            }
        }
    }

    private static int LineEnd(byte[] buffer, int start, int length)
    {
        var lf = Array.IndexOf(buffer, (byte)'\n', start, length - start);
        return lf < 0 ? length : lf + 1;
    }

    private static bool IsBlankLine(byte[] buffer, int start, int end) =>
        end - start <= 2 && (buffer[start] == '\n' || (buffer[start] == '\r' && end - start == 2));
}

/// <summary>One header field: its name and its raw bytes, from the name to the CRLF that ends its last line.</summary>
public sealed record HeaderField(string Name, byte[] Raw)
{
    public static HeaderField Create(string name, string value) => new(name, Encoding.UTF8.GetBytes($"{name}: {value}\r\n"));

    /// <summary>The raw bytes after the colon, unfolded, without the final line ending (leading WSP trimmed).</summary>
    public byte[] RawValue
    {
        get
        {
            var colon = Array.IndexOf(Raw, (byte)':');
            var value = new List<byte>(Raw.Length);
            for (var i = colon + 1; i < Raw.Length; i++)
            {
                if (Raw[i] == '\r' && i + 1 < Raw.Length && Raw[i + 1] == '\n')
                {
                    i++;
                    continue;
                }

                if (Raw[i] == '\n')
                {
                    continue;
                }

                value.Add(Raw[i]);
            }

            var start = 0;
            while (start < value.Count && value[start] is (byte)' ' or (byte)'\t')
            {
                start++;
            }

            return [.. value.Skip(start)];
        }
    }

    /// <summary>The unfolded value as text (invalid UTF-8 replaced).</summary>
    public string Value => Encoding.UTF8.GetString(RawValue);
}
