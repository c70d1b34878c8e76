namespace Beacon.Delivery;

/// <summary>What a key signs and how (h= and c= tags), and whether it signs for subdomains of its domain.</summary>
internal sealed record DkimKeySettings(
    IReadOnlyList<string> Headers,
    DkimCanonicalization HeaderCanonicalization = DkimCanonicalization.Relaxed,
    DkimCanonicalization BodyCanonicalization = DkimCanonicalization.Relaxed,
    bool SignSubdomains = true)
{
    public static DkimKeySettings Default { get; } = new(DkimSigning.DefaultHeaders);
}
