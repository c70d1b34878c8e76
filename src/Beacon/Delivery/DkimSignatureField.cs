using System.Globalization;
using System.Text;

namespace Beacon.Delivery;

/// <summary>
/// Writes the DKIM-Signature field (RFC 6376 §3.5), folded so no line passes 78 characters. The field is built
/// once with an empty b= (what is hashed, §3.7) and then completed by appending the folded signature: the folding
/// white space inside b= is part of its value, which verifiers delete before hashing.
/// </summary>
internal static class DkimSignatureField
{
    private const int LineLimit = 78;

    /// <summary>The field up to and including "b=", CRLF-folded, without a final line break.</summary>
    public static string Unsigned(DkimKey key, IEnumerable<string> signedHeaders, byte[] bodyHash, long timestamp)
    {
        var text = new StringBuilder("DKIM-Signature: v=1;");
        int lineLength = text.Length;
        void Tag(string tag, bool space = true)
        {
            if (lineLength + 1 + tag.Length > LineLimit)
            {
                text.Append("\r\n\t");
                lineLength = 1;
            }
            else if (space)
            {
                text.Append(' ');
                lineLength++;
            }

            text.Append(tag);
            lineLength += tag.Length;
        }

        Tag($"a={key.AlgorithmName};");
        Tag($"c={Name(key.HeaderCanonicalization)}/{Name(key.BodyCanonicalization)};");
        Tag($"d={key.Domain};");
        Tag($"s={key.Selector};");
        Tag(string.Create(CultureInfo.InvariantCulture, $"t={timestamp};"));
        // h= may be folded at its colons (§3.5: sig-h-tag allows FWS around ":").
        string[] names = signedHeaders.Select(static n => n.ToLowerInvariant()).ToArray();
        for (int i = 0; i < names.Length; i++)
            Tag((i == 0 ? "h=" : string.Empty) + names[i] + (i == names.Length - 1 ? ";" : ":"), space: i == 0);
        Tag($"bh={Convert.ToBase64String(bodyHash)};");
        text.Append("\r\n\tb=");
        return text.ToString();
    }

    /// <summary>The base64 signature in lines of at most 72 characters after the tab.</summary>
    public static string FoldBase64(string signature)
    {
        var text = new StringBuilder(signature.Length + 16);
        int first = Math.Min(signature.Length, 70); // "\tb=" already begins the line
        text.Append(signature, 0, first);
        for (int i = first; i < signature.Length; i += 72)
            text.Append("\r\n\t").Append(signature, i, Math.Min(72, signature.Length - i));
        return text.ToString();
    }

    private static string Name(DkimCanonicalization canonicalization) =>
        canonicalization == DkimCanonicalization.Simple ? "simple" : "relaxed";
}
