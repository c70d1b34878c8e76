using System.Text.Json;
using System.Text.Json.Nodes;

namespace Beacon.Smtpapi;

/// <summary>The boolean spellings Momentum accepts (spec §5 Q4, Q6).</summary>
public static class Booleans
{
    /// <summary>Header values: true/false, "true"/"false"/"1"/"0" (any case), 1/0. Anything else is null (an error).</summary>
    public static bool? FromJson(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => FromText(node.GetValue<string>(), allowYesNo: false),
        JsonValueKind.Number when node.AsValue().TryGetValue<int>(out var n) && n is 0 or 1 => n == 1,
        _ => null,
    };

    /// <summary>Context variables: 1/0/true/false, and yes/no, any case. Anything else is null ("not set").</summary>
    public static bool? FromText(string text, bool allowYesNo = true) => text.Trim().ToLowerInvariant() switch
    {
        "1" or "true" => true,
        "0" or "false" => false,
        "yes" when allowYesNo => true,
        "no" when allowYesNo => false,
        _ => null,
    };
}
