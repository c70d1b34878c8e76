using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Beacon.Ingress;

/// <summary>Accepts SMTP connections for the listeners (Kestrel hands each one over here).</summary>
public sealed class SmtpIngress(MessageAcceptor acceptor, Policy.IPolicy policy, TimeProvider time, ILogger<SmtpIngress> logger, SmtpMetrics metrics)
{
    private readonly CancellationTokenSource _shutdown = new();
    private readonly PolicyHooks _hooks = new(policy);

    /// <summary>From now on open sessions get 421 4.3.2 at their next read and new ones at the greeting.</summary>
    public void BeginShutdown() => _shutdown.Cancel();

    public Task HandleAsync(ConnectionContext context, Listener listener)
    {
        var remote = (context.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        if (remote.IsIPv4MappedToIPv6)
        {
            remote = remote.MapToIPv4();
        }

        var connection = new SmtpConnection(context.Transport, remote, listener, acceptor, _hooks, time, _shutdown.Token, logger, metrics);
        return connection.RunAsync();
    }
}
