namespace Beacon.Tracker.Http;

/// <summary>What the head says about the connection rather than the resource.</summary>
internal readonly record struct HttpFraming(bool Http10, bool KeepAlive, bool HasBody);
