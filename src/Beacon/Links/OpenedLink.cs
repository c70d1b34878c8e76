namespace Beacon.Links;

/// <summary>An authentic link and the id of the key that sealed it.</summary>
public sealed record OpenedLink(TrackedLink Link, ushort KeyId);
