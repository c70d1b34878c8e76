using Beacon.Smtp;

namespace Beacon.Smtpapi;

/// <summary>The replies that refuse a whole transaction for its X-MSYS-API header or smtpapi_* context (spec §F4.8, §5 Q7).</summary>
public static class SmtpapiError
{
    public static SmtpReply NotJson() => Reply("X-MSYS-API header is not valid JSON");

    public static SmtpReply NotUtf8() => Reply("X-MSYS-API header is not valid UTF-8");

    public static SmtpReply TooDeep(int depth) => Reply($"X-MSYS-API header is nested deeper than {depth} levels");

    /// <summary>550 5.6.0 X-MSYS-API 'metadata' must be of type 'json object'</summary>
    public static SmtpReply FieldType(string field, string type) => Reply($"X-MSYS-API '{field}' must be of type '{type}'");

    /// <summary>550 5.6.0 smtpapi_metadata context must be of type 'json object'</summary>
    public static SmtpReply ContextType(string variable, string type) => Reply($"{variable} context must be of type '{type}'");

    /// <summary>550 5.6.0 smtpapi_campaign_id context is limited to 64 bytes</summary>
    public static SmtpReply ContextTooLong(string variable, int bytes) => Reply($"{variable} context is limited to {bytes} bytes");

    private static SmtpReply Reply(string text) => new(550, "5.6.0", text);
}
