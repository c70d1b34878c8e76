using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Beacon.Webhooks;

/// <summary>
/// X-Beacon-Signature: t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}, one v1 per configured secret, so a
/// receiver that knows either the old or the new secret accepts batches during a rotation. The timestamp is
/// signed so a receiver can refuse replays older than it tolerates (docs/webhooks.md shows the check).
/// </summary>
public static class WebhookSignature
{
    public const string Header = "X-Beacon-Signature";

    public static string Sign(ReadOnlySpan<byte> body, long unixSeconds, IEnumerable<string> secrets)
    {
        var header = new StringBuilder("t=").Append(unixSeconds.ToString(CultureInfo.InvariantCulture));
        foreach (var secret in secrets)
        {
            header.Append(",v1=").Append(Convert.ToHexStringLower(Mac(body, unixSeconds, secret)));
        }

        return header.ToString();
    }

    /// <summary>What a receiver does: true when some v1 matches under <paramref name="secret"/> and t is within
    /// <paramref name="tolerance"/> of <paramref name="now"/>.</summary>
    public static bool Verify(string header, ReadOnlySpan<byte> body, string secret, DateTimeOffset now, TimeSpan tolerance)
    {
        long? timestamp = null;
        var candidates = new List<string>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal) && long.TryParse(part.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                timestamp = t;
            }
            else if (part.StartsWith("v1=", StringComparison.Ordinal))
            {
                candidates.Add(part[3..]);
            }
        }

        if (timestamp is not { } unix || Math.Abs(now.ToUnixTimeSeconds() - unix) > tolerance.TotalSeconds)
        {
            return false;
        }

        // Compared as hex text, in constant time: a malformed v1 is simply no match.
        var expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(Mac(body, unix, secret)));
        foreach (var candidate in candidates)
        {
            if (candidate.Length == expected.Length && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate.ToLowerInvariant()), expected))
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] Mac(ReadOnlySpan<byte> body, long unixSeconds, string secret)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData(Encoding.ASCII.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + "."));
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }
}
