using System.Net;
using Beacon.Config;
using Beacon.Ingress;
using Beacon.Smtp;
using Microsoft.Extensions.Logging;

namespace Beacon.Smtpapi;

/// <summary>
/// The smtpapi stage at the end of DATA (spec §4 steps 1–3): reads the first X-MSYS-API header, takes the
/// configuration for this listener and peer, and resolves every recipient's settings from its own message
/// context. One error refuses the whole transaction.
/// </summary>
public sealed class SmtpapiStage(ScopedSmtpapi scopes, SmtpapiResolver resolver, ILogger<SmtpapiStage> logger)
{
    public bool TryResolve(
        MessageHeaders headers, SmtpSession session, ListenerOptions listener, IReadOnlyList<Dictionary<string, string>> recipientContexts,
        out List<TrackingSettings> settings, out SmtpReply? error)
    {
        settings = [];
        error = null;
        var fields = headers.Fields.Where(f => f.Name.Equals(XMsysApiHeader.Name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (fields.Count > 1)
        {
            logger.LogInformation("smtpapi: {Count} X-MSYS-API headers from {Peer}; the first counts", fields.Count, session.PeerAddress);
        }

        XMsysApiHeader? header = null;
        if (fields.Count > 0 && !XMsysApiHeader.TryParse(fields[0].RawValue, out header, out error))
        {
            return false;
        }

        var configured = scopes.Resolve(listener, IPAddress.TryParse(session.PeerAddress, out var peer) ? peer : IPAddress.None);
        foreach (var context in recipientContexts)
        {
            if (!resolver.TryResolve(header, configured, session.ConnectionContext, context, out var resolved, out error))
            {
                return false;
            }

            settings.Add(resolved);
        }

        return true;
    }
}
