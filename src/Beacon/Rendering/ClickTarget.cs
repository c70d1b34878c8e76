namespace Beacon.Rendering;

/// <summary>
/// One link found in the top text/html or text/plain part, with its annotations (spec §F8.4).
/// </summary>
/// <param name="Url">The target as a browser would follow it: entities decoded, trimmed, tabs and newlines removed.</param>
/// <param name="LinkName"><c>data-msys-linkname</c>, at most 63 UTF-8 bytes; null when absent (spec §5 Q12).</param>
/// <param name="Unsubscribe"><c>data-msys-unsubscribe="1"</c>: a click also produces <c>link_unsubscribe</c>.</param>
/// <param name="Sublink"><c>data-msys-sublink</c>: the path inserted after <c>/f/</c>; null when absent.</param>
internal sealed record ClickTarget(string Url, string? LinkName, bool Unsubscribe, string? Sublink);
