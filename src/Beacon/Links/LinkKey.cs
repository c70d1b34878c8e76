namespace Beacon.Links;

/// <summary>
/// One AES-256-GCM key of the keyring. It seals new links from <see cref="ActivateAfter"/> (while it is the newest
/// active key) and opens links until <see cref="RetireAfter"/>; null means not scheduled for retirement.
/// </summary>
public sealed record LinkKey(ushort Id, byte[] Secret, DateTimeOffset Created, DateTimeOffset ActivateAfter, DateTimeOffset? RetireAfter)
{
    public bool IsActive(DateTimeOffset now) => ActivateAfter <= now && !IsRetired(now);

    public bool IsRetired(DateTimeOffset now) => RetireAfter is { } retire && retire <= now;

    /// <summary>Keeps the secret out of logs and debugger views.</summary>
    public override string ToString() => $"key {Id} (created {Created:u}, activate after {ActivateAfter:u}, retire after {RetireAfter?.ToString("u") ?? "-"})";
}
