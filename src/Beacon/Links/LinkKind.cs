namespace Beacon.Links;

/// <summary>What a tracked link reports when requested. The value is the token's kind byte (docs/tracking-links.md).</summary>
public enum LinkKind : byte
{
    /// <summary>A rewritten hyperlink: <c>/f/[sublink/]token</c>, answered with a 302 to the sealed target.</summary>
    Click = 1,

    /// <summary>The open pixel before <c>&lt;/body&gt;</c>: <c>/q/token</c> (or <c>/o/token</c>), answered with a GIF.</summary>
    Open = 2,

    /// <summary>The optional second pixel right after <c>&lt;body&gt;</c> (spec §5 Q10): <c>/q/token</c>.</summary>
    InitialOpen = 3,
}
