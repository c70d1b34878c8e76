using System.Globalization;

namespace Beacon.Dashboard;

/// <summary>
/// Names one captured copy in a URL: the message id and the recipient's index, as CaptureStore lays them out
/// (data_dir/capture/{message id}/{index}.eml). Parsed strictly, before any path is built from them: a message id
/// is exactly 20 lowercase hex digits (MessageIdGenerator's form) and an index a decimal number without sign or
/// leading zero, so nothing a client sends ("..", "/", "%2F", "0x1", a drive letter) can name another file.
/// </summary>
internal readonly record struct CapturedCopyId(string MessageId, int Recipient)
{
    private const int MessageIdLength = 20;

    public static bool TryParse(string? messageId, string? recipient, out CapturedCopyId id)
    {
        id = default;
        if (messageId is not { Length: MessageIdLength } || !messageId.All(char.IsAsciiHexDigitLower))
        {
            return false;
        }

        if (recipient is not { Length: > 0 and <= 6 } || !recipient.All(char.IsAsciiDigit) || (recipient.Length > 1 && recipient[0] == '0'))
        {
            return false;
        }

        id = new CapturedCopyId(messageId, int.Parse(recipient, NumberStyles.None, CultureInfo.InvariantCulture));
        return true;
    }

    public override string ToString() => $"{MessageId}/{Recipient.ToString(CultureInfo.InvariantCulture)}";
}
