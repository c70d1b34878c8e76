using System.Text;

namespace Beacon.Tracker;

/// <summary>Turns a sealed click target into a Location header value, or refuses it (then the click answers 404).</summary>
public static class RedirectTarget
{
    /// <summary>Longer targets are refused (spec §5 Q1): no client handles them, and nothing legitimate needs them.</summary>
    public const int MaxBytes = 4096;

    /// <summary>
    /// An absolute http or https URL of at most <see cref="MaxBytes"/> UTF-8 bytes, without control characters. Spaces
    /// and non-ASCII characters (an IRI as written in the HTML) are percent-encoded as UTF-8: header values are ASCII.
    /// </summary>
    public static bool TryGetLocation(string target, out string location)
    {
        location = string.Empty;
        if (Encoding.UTF8.GetByteCount(target) > MaxBytes ||
            !(target.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        var clean = true;
        foreach (var c in target)
        {
            if (char.IsControl(c))
            {
                return false;
            }

            clean &= c is > ' ' and < (char)0x7F;
        }

        location = clean ? target : Escape(target);
        return true;
    }

    private static string Escape(string target)
    {
        var builder = new StringBuilder(target.Length + 32);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < target.Length; i++)
        {
            var c = target[i];
            if (c is > ' ' and < (char)0x7F)
            {
                builder.Append(c);
                continue;
            }

            var length = char.IsHighSurrogate(c) && i + 1 < target.Length
                ? Encoding.UTF8.GetBytes(target.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(target.AsSpan(i, 1), utf8);
            foreach (var b in utf8[..length])
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }
}
