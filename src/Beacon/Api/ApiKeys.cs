using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Beacon.Api;

/// <summary>
/// api.keys, checked against the Authorization header as SparkPost does: the bare key, or Basic with the key as
/// user name and an empty password (also "Bearer key"). Keys are compared as SHA-256 digests in fixed time, so a
/// key's length or prefix cannot be learned from response times.
/// </summary>
public sealed class ApiKeys(IEnumerable<string> keys)
{
    private readonly byte[][] _digests = [.. keys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];

    public bool Required => _digests.Length > 0;

    public bool Accepts(string? authorization)
    {
        if (!Required)
        {
            return true;
        }

        var key = Extract(authorization);
        if (key is null)
        {
            return false;
        }

        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var found = false;
        foreach (var candidate in _digests)
        {
            found |= CryptographicOperations.FixedTimeEquals(candidate, digest);
        }

        return found;
    }

    private static string? Extract(string? authorization)
    {
        if (string.IsNullOrWhiteSpace(authorization))
        {
            return null;
        }

        authorization = authorization.Trim();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization[7..].Trim();
        }

        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
                var colon = decoded.IndexOf(':');
                return colon < 0 ? decoded : decoded[..colon];
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return authorization;
    }
}
