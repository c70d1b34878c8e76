using System.Text;

namespace Beacon.Smtp;

/// <summary>The client side of one AUTH exchange: PLAIN (RFC 4616) or LOGIN (draft-murchison-sasl-login).</summary>
internal sealed class SmtpAuthExchange
{
    private readonly bool _plain;
    private int _step;

    private SmtpAuthExchange(bool plain) => _plain = plain;

    public string? Username { get; private set; }

    public string? Password { get; private set; }

    public bool Complete => Password is not null;

    public static SmtpAuthExchange? Start(string mechanism) =>
        mechanism.ToUpperInvariant() switch
        {
            "PLAIN" => new SmtpAuthExchange(plain: true),
            "LOGIN" => new SmtpAuthExchange(plain: false),
            _ => null,
        };

    public SmtpReply NextChallenge() =>
        _plain ? new SmtpReply(334, null, string.Empty)
        : _step == 0 ? new SmtpReply(334, null, "VXNlcm5hbWU6") // "Username:"
        : new SmtpReply(334, null, "UGFzc3dvcmQ6"); // "Password:"

    /// <summary>Takes one decoded response; false when it is malformed.</summary>
    public bool Accept(byte[] response)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(response);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        if (_plain)
        {
            // message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 §2)
            var parts = text.Split('\0');
            if (parts.Length != 3 || parts[1].Length == 0)
            {
                return false;
            }

            Username = parts[1];
            Password = parts[2];
            return true;
        }

        if (_step++ == 0)
        {
            Username = text;
            return text.Length > 0;
        }

        Password = text;
        return true;
    }

    public static bool TryDecode(ReadOnlySpan<byte> base64, out byte[] decoded)
    {
        decoded = new byte[base64.Length];
        if (System.Buffers.Text.Base64.DecodeFromUtf8(base64, decoded, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != base64.Length)
        {
            return false;
        }

        decoded = decoded[..written];
        return true;
    }
}
