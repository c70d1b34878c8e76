namespace Beacon.Rendering;

/// <summary>What happened to one recipient's copy; delivery copies it into the injection or delivery event.</summary>
internal sealed record RenderReport
{
    public int LinksRewritten { get; init; }

    public bool OpenPixelInserted { get; init; }

    public bool InitialOpenPixelInserted { get; init; }

    public bool HtmlPartRewritten { get; init; }

    public bool TextPartRewritten { get; init; }

    /// <summary>Header fields named in <see cref="RenderOptions.RemoveHeaders"/> removed from the top-level header block.</summary>
    public int HeadersRemoved { get; init; }

    /// <summary>Fields named in <see cref="RenderOptions.RemoveHeadersWhenRewritten"/> (DKIM-Signature) removed because a part was rewritten.</summary>
    public int SignaturesRemoved { get; init; }

    /// <summary>The first reason tracking was skipped, or <see cref="RenderSkipReason.None"/>.</summary>
    public RenderSkipReason SkipReason { get; init; }

    /// <summary>The snake_case name used in events (<c>unknown_charset</c> …); null when nothing was skipped.</summary>
    public string? SkipReasonName => SkipReason switch
    {
        RenderSkipReason.None => null,
        RenderSkipReason.Signed => "signed",
        RenderSkipReason.Encrypted => "encrypted",
        RenderSkipReason.UnknownCharset => "unknown_charset",
        RenderSkipReason.BrokenEncoding => "broken_encoding",
        RenderSkipReason.Unparseable => "unparseable",
        RenderSkipReason.NoTrackablePart => "no_trackable_part",
        _ => "internal_error",
    };
}
