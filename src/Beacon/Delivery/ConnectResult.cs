namespace Beacon.Delivery;

/// <summary>
/// The outcome of <see cref="OutboundConnection.ConnectAsync"/>: a ready connection or a failure, never both.
/// A value rather than an exception because a refused greeting or a missing STARTTLS is an everyday outcome the
/// delivery stage must turn into a deferral or bounce, not an error; exceptions stay for bugs and cancellation.
/// </summary>
internal sealed record ConnectResult
{
    private ConnectResult(OutboundConnection? connection, OutboundFailure? failure)
    {
        Connection = connection;
        Failure = failure;
    }

    public OutboundConnection? Connection { get; }

    public OutboundFailure? Failure { get; }

    public bool Succeeded => Connection is not null;

    public static ConnectResult Connected(OutboundConnection connection) => new(connection, null);

    public static ConnectResult Failed(OutboundFailure failure) => new(null, failure);
}
