namespace Beacon.Links;

/// <summary>The keyring file is missing, unreadable or invalid, or holds no key that can seal a link now.</summary>
public sealed class KeyringException(string message, Exception? inner = null) : Exception(message, inner);
