using Beacon.Events;

namespace Beacon.Webhooks;

/// <summary>Momentum's webhook event keys (spec F14.8) and the event types they select.</summary>
internal static class WebhookEvents
{
    /// <summary>Keys a Momentum webhooks.json may list that Beacon never produces: accepted, matching nothing.</summary>
    private static readonly HashSet<string> Foreign = ["ad_adjust", "ad_status", "sms_status"];

    private static readonly Dictionary<string, EventType> ByName = Enum.GetValues<EventType>().ToDictionary(t => t.Name(), StringComparer.Ordinal);

    public static bool IsKnown(string key) => ByName.ContainsKey(key) || Foreign.Contains(key);

    public static HashSet<EventType> Select(IEnumerable<string> keys) =>
        [.. keys.Where(ByName.ContainsKey).Select(k => ByName[k])];
}
