namespace Beacon.Events;

/// <summary>The closed set of event types (spec §2.1), each with its Momentum/SparkPost envelope category.</summary>
public enum EventType
{
    Injection,
    Delivery,
    Delay,
    Bounce,
    OutOfBand,
    PolicyRejection,
    SpamComplaint,
    Open,
    InitialOpen,
    Click,
    GenerationFailure,
    GenerationRejection,
    ListUnsubscribe,
    LinkUnsubscribe,
}

public static class EventTypes
{
    /// <summary>The "type" field value, e.g. "policy_rejection".</summary>
    public static string Name(this EventType type) => type switch
    {
        EventType.Injection => "injection",
        EventType.Delivery => "delivery",
        EventType.Delay => "delay",
        EventType.Bounce => "bounce",
        EventType.OutOfBand => "out_of_band",
        EventType.PolicyRejection => "policy_rejection",
        EventType.SpamComplaint => "spam_complaint",
        EventType.Open => "open",
        EventType.InitialOpen => "initial_open",
        EventType.Click => "click",
        EventType.GenerationFailure => "generation_failure",
        EventType.GenerationRejection => "generation_rejection",
        EventType.ListUnsubscribe => "list_unsubscribe",
        EventType.LinkUnsubscribe => "link_unsubscribe",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The envelope key: {"msys":{"message_event":{…}}}.</summary>
    public static string Category(this EventType type) => type switch
    {
        EventType.Open or EventType.InitialOpen or EventType.Click => "track_event",
        EventType.GenerationFailure or EventType.GenerationRejection => "gen_event",
        EventType.ListUnsubscribe or EventType.LinkUnsubscribe => "unsubscribe_event",
        _ => "message_event",
    };

    private static readonly Dictionary<string, EventType> ByName = Enum.GetValues<EventType>().ToDictionary(t => t.Name(), StringComparer.Ordinal);

    /// <summary>The type whose "type" field value is <paramref name="name"/>, e.g. "policy_rejection".</summary>
    public static bool TryParse(string name, out EventType type) => ByName.TryGetValue(name, out type);

    public static EventType Parse(string name) => TryParse(name, out var type) ? type : throw new FormatException($"'{name}' is not an event type");
}
