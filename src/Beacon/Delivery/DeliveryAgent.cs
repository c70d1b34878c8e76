using Beacon.Config;
using Beacon.Queue;
using Beacon.Spool;
using Microsoft.Extensions.Logging;

namespace Beacon.Delivery;

/// <summary>Runs one worker (one connection's life) for a destination, by the kind of its route.</summary>
internal sealed class DeliveryAgent(SpoolStore spool, CopyWriter copies, CaptureStore capture, MxResolver mx, DeliveryOptions options, TimeProvider time, ILoggerFactory logs)
{
    private readonly CaptureWorker _capture = new(spool, copies, capture, time, logs.CreateLogger("Beacon.Delivery"));
    private readonly SmtpWorker _smtp = new(spool, copies, mx, options, time, logs.CreateLogger("Beacon.Delivery"));

    public Task RunAsync(DestinationQueue queue, CancellationToken abort) => queue.Route.Kind switch
    {
        RouteKind.Capture => _capture.RunAsync(queue, abort),
        _ => _smtp.RunAsync(queue, abort),
    };
}
