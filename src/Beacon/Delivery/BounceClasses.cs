using Beacon.Smtp;

namespace Beacon.Delivery;

/// <summary>Temporary: replaced by the BounceClassifier.</summary>
internal static class BounceClasses
{
    public const int Undetermined = 1;

    public const int Transient = 70;

    public static int Of(SmtpReply reply) => reply.Code >= 500 ? 40 : 70;

    public static int Of(OutboundFailure failure) => failure.Reply is { } reply ? Of(reply) : Transient;

    public static int Dns(bool permanent, bool nullMx) => permanent ? 21 : Transient;
}
