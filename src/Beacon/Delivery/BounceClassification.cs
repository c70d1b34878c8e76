using System.Globalization;

namespace Beacon.Delivery;

/// <summary>The three bounce fields of a <c>bounce</c>, <c>delay</c> or <c>out_of_band</c> event.</summary>
/// <param name="Class">bounce_class.</param>
/// <param name="Reason">reason: the reply as received ("550 5.1.1 … User unknown"), multi-line replies joined by spaces, or Beacon's own "[internal]" text.</param>
/// <param name="ErrorCode">error_code: the three-digit reply code ("550").</param>
internal sealed record BounceClassification(BounceClass Class, string Reason, string ErrorCode)
{
    /// <summary>bounce_class as the event writes it: a number in a string ("10").</summary>
    public string ClassText => ((int)Class).ToString(CultureInfo.InvariantCulture);
}
