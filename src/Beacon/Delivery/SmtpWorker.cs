using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Beacon.Config;
using Beacon.Queue;
using Beacon.Smtp;
using Beacon.Spool;
using Microsoft.Extensions.Logging;

namespace Beacon.Delivery;

/// <summary>
/// One connection's life for an MX or smarthost destination: find the next hop, connect (hosts in preference
/// order, each address in turn), then send the destination's items over that connection while there are any
/// (up to delivery.max_messages_per_connection, waiting delivery.idle_timeout for more), and QUIT. Each tracked
/// recipient gets its own copy and transaction; untracked recipients of a message share one. Design note: when
/// no host of a destination answers, the destination is marked down for a short while and the items taken
/// meanwhile are deferred without a connection attempt each (as Postfix does with a dead destination).
/// </summary>
internal sealed class SmtpWorker(SpoolStore spool, CopyWriter copies, MxResolver mx, DeliveryOptions options, TimeProvider time, ILogger logger)
{
    private const int MaxAddressesTried = 10;

    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, string Reason)> _down = new(StringComparer.Ordinal);

    public async Task RunAsync(DestinationQueue queue, CancellationToken abort)
    {
        var session = new Session();
        try
        {
            while (await queue.TakeAsync(session.Current is null ? TimeSpan.Zero : TimeSpan.FromSeconds(options.IdleTimeout)).ConfigureAwait(false) is { } item)
            {
                IReadOnlyList<RecipientOutcome> outcomes;
                try
                {
                    outcomes = await DeliverAsync(session, queue.Route, item, abort).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    // The spool or the copy failed, not the peer: retry later, and say why in the log.
                    logger.LogError(e, "delivery: message {Id} to {Destination} could not be sent", item.Message.MessageId, queue.Route.Key);
                    outcomes = [.. item.Recipients.Select(i => new RecipientOutcome(i, DeliveryOutcome.Deferred, $"local error: {e.Message}", BounceClass: (int)BounceClass.Undetermined))];
                }

                await queue.CompleteAsync(item, outcomes).ConfigureAwait(false);
            }
        }
        finally
        {
            await session.CloseAsync(this).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(Session session, Route route, WorkItem item, CancellationToken abort)
    {
        var message = item.Message;
        var outcomes = new List<RecipientOutcome>(item.Recipients.Length);

        // Recipients with tracking each need their own copy; the others can share one transaction.
        var groups = item.Recipients.Where(i => CopyWriter.IsTracked(message.Recipients[i])).Select(i => new[] { i }).ToList();
        var shared = item.Recipients.Where(i => !CopyWriter.IsTracked(message.Recipients[i])).ToArray();
        if (shared.Length > 0)
        {
            groups.Add(shared);
        }

        foreach (var group in groups)
        {
            Dictionary<string, JsonNode?> facts;
            using var copy = copies.Render(spool, message, group.Length == 1 ? message.Recipients[group[0]] : null, out facts);
            var addresses = group.Select(i => message.Recipients[i].Address).ToList();
            var envelope = new Envelope(message.MailFrom, addresses)
            {
                RequiresSmtpUtf8 = message.SmtpUtf8 && (!message.MailFrom.All(char.IsAscii) || addresses.Any(a => !a.All(char.IsAscii)) || HeaderHasEightBit(copy)),
                EightBitMime = message.EightBitMime,
                Size = copy.Length,
            };

            while (true)
            {
                if (session.Current is { } stale && (!stale.Connection.IsUsable || stale.Connection.MessagesSent >= options.MaxMessagesPerConnection))
                {
                    await session.CloseAsync(this).ConfigureAwait(false);
                }

                if (session.Current is null)
                {
                    var (opened, failure) = await ConnectAsync(route, abort).ConfigureAwait(false);
                    if (failure is not null)
                    {
                        outcomes.AddRange(group.Select(failure.For));
                        break;
                    }

                    session.Current = opened;
                }

                var connected = session.Current!;
                var reused = connected.Connection.MessagesSent > 0;
                var result = await connected.Connection.SendAsync(envelope, copy, abort).ConfigureAwait(false);
                if (reused && result.MailReply is null && result.Failure is { Kind: OutboundFailureKind.ConnectionLost or OutboundFailureKind.ProtocolError })
                {
                    // A kept connection the peer had closed meanwhile (servers drop idle clients): not this
                    // message's failure. Try once more on a new connection, as Postfix does with its cache.
                    logger.LogDebug("delivery: kept connection to {Peer} was gone ({Failure}); reconnecting", connected.Connection.RemoteEndPoint, result.Failure);
                    await session.CloseAsync(this).ConfigureAwait(false);
                    copy.Position = 0;
                    continue;
                }

                for (var n = 0; n < group.Length; n++)
                {
                    outcomes.Add(Outcome(group[n], result.Recipients[n], connected, facts));
                }

                break;
            }
        }

        return outcomes;
    }

    private static RecipientOutcome Outcome(int index, RecipientResult result, Connected connected, Dictionary<string, JsonNode?> facts)
    {
        var ip = connected.Connection.RemoteEndPoint.Address.ToString();
        if (result.Reply is { } reply)
        {
            var outcome = reply.Code switch
            {
                < 400 => DeliveryOutcome.Delivered,
                < 500 => DeliveryOutcome.Deferred,
                _ => DeliveryOutcome.Bounced,
            };
            return new RecipientOutcome(index, outcome, reply.ToString(), reply,
                outcome == DeliveryOutcome.Delivered ? null : (int)BounceClassifier.Classify(reply).Class, ip, connected.Host, Fields: facts);
        }

        var failure = result.Failure!;
        var classified = Classify(failure);
        return new RecipientOutcome(index, failure.Permanent ? DeliveryOutcome.Bounced : DeliveryOutcome.Deferred, failure.ToString(), failure.Reply,
            (int)classified.Class, ip, connected.Host, ErrorCode: classified.ErrorCode, Fields: facts);
    }

    /// <summary>Connects to the first host that answers; a failure says what to do with the item's recipients.</summary>
    private async Task<(Connected? Connection, NoConnection? Failure)> ConnectAsync(Route route, CancellationToken abort)
    {
        var now = time.GetUtcNow();
        if (_down.TryGetValue(route.Key, out var down) && down.Until > now)
        {
            return (null, new NoConnection(false, $"{down.Reason} (not tried again before {down.Until:HH:mm:ss})", BounceClassifier.Classify(DeliveryFailure.ConnectionFailure)));
        }

        var (hosts, problem) = await HostsAsync(route, abort).ConfigureAwait(false);
        if (problem is not null)
        {
            return (null, problem);
        }

        var outbound = Options(route);
        OutboundFailure? last = null;
        var permanentEverywhere = true;
        var tried = 0;
        foreach (var host in hosts!)
        {
            foreach (var address in host.Addresses)
            {
                if (tried++ == MaxAddressesTried)
                {
                    break;
                }

                var endpoint = new IPEndPoint(address, route.Port);
                var result = await OutboundConnection.ConnectAsync(endpoint, host.Name, outbound, abort).ConfigureAwait(false);
                if (result.Failure is { Kind: OutboundFailureKind.TlsFailed } && outbound.Tls == OutboundTls.Opportunistic)
                {
                    // Opportunistic TLS that fails its handshake falls back to plain text (RFC 3207 §4.1 leaves it to us).
                    logger.LogInformation("delivery: TLS with {Host} [{Address}] failed ({Detail}); sending without TLS", host.Name, address, result.Failure.Detail);
                    result = await OutboundConnection.ConnectAsync(endpoint, host.Name, outbound with { Tls = OutboundTls.None }, abort).ConfigureAwait(false);
                }

                if (result.Connection is { } connection)
                {
                    _down.TryRemove(route.Key, out _);
                    return (new Connected(connection, host.Name), null);
                }

                last = result.Failure;
                permanentEverywhere &= last!.Permanent;
                logger.LogInformation("delivery: {Host} [{Address}]:{Port} for {Destination}: {Failure}", host.Name, address, route.Port, route.Key, last);
            }
        }

        var reason = $"no host of {route.Key} took the connection; last: {last}";
        if (!permanentEverywhere)
        {
            _down[route.Key] = (time.GetUtcNow() + TimeSpan.FromSeconds(Math.Min(options.Retry.InitialInterval, 60)), reason);
        }

        return (null, new NoConnection(permanentEverywhere, reason, last is null ? BounceClassifier.Classify(DeliveryFailure.ConnectionFailure) : Classify(last)));
    }

    private async Task<(IReadOnlyList<MxHost>? Hosts, NoConnection? Problem)> HostsAsync(Route route, CancellationToken abort)
    {
        if (route.Kind == RouteKind.Mx)
        {
            var found = await mx.ResolveAsync(route.Domain, abort).ConfigureAwait(false);
            return found.Error is null
                ? (found.Hosts, null)
                : (null, new NoConnection(found.IsPermanent, found.Error, BounceClassifier.Classify(
                    found.IsNullMx ? DeliveryFailure.NullMx : found.IsPermanent ? DeliveryFailure.DomainNotFound : DeliveryFailure.DnsFailure)));
        }

        var hop = route.Smarthost!;
        if (IPAddress.TryParse(hop.Host, out var literal))
        {
            return ([new MxHost(hop.Host, [literal])], null);
        }

        try
        {
            // The relay is named by the operator: the system resolver (and /etc/hosts) finds it.
            var addresses = await Dns.GetHostAddressesAsync(hop.Host, abort).ConfigureAwait(false);
            return ([new MxHost(hop.Host, addresses)], null);
        }
        catch (SocketException e)
        {
            return (null, new NoConnection(false, $"smarthost {hop.Host}: {e.Message}", BounceClassifier.Classify(DeliveryFailure.DnsFailure)));
        }
    }

    private OutboundOptions Options(Route route) => new()
    {
        HeloName = options.HeloName!,
        ConnectTimeout = TimeSpan.FromSeconds(options.ConnectTimeout),
        GreetingTimeout = TimeSpan.FromSeconds(options.CommandTimeout),
        CommandTimeout = TimeSpan.FromSeconds(options.CommandTimeout),
        DataTimeout = TimeSpan.FromSeconds(options.CommandTimeout),
        DataTerminationTimeout = TimeSpan.FromSeconds(Math.Max(options.CommandTimeout, 600)),
        Tls = route.Tls switch
        {
            TlsPolicy.None => OutboundTls.None,
            TlsPolicy.Opportunistic => OutboundTls.Opportunistic,
            _ => OutboundTls.Required,
        },
        VerifyCertificate = route.Tls == TlsPolicy.Verify,
        Username = route.Kind == RouteKind.Smarthost ? options.Username : null,
        Password = route.Kind == RouteKind.Smarthost ? options.Password : null,
        AllowInsecureAuth = route.Tls == TlsPolicy.None,
        Time = time,
    };

    private async Task CloseAsync(OutboundConnection connection)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await connection.QuitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            logger.LogDebug(e, "delivery: QUIT to {Peer} failed", connection.RemoteEndPoint);
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>True when the copy's header section has a byte over 127 (it needs SMTPUTF8, RFC 6532).</summary>
    private static bool HeaderHasEightBit(Stream copy)
    {
        Span<byte> buffer = stackalloc byte[8192];
        var found = false;
        var previous = (byte)0;
        while (copy.Read(buffer) is var read and > 0 && !found)
        {
            foreach (var b in buffer[..read])
            {
                if (b > 127)
                {
                    found = true;
                    break;
                }

                // An empty line ends the header section.
                if (b == (byte)'\n' && previous == (byte)'\n')
                {
                    copy.Position = 0;
                    return false;
                }

                previous = b == (byte)'\r' ? previous : b;
            }
        }

        copy.Position = 0;
        return found;
    }

    private sealed record Connected(OutboundConnection Connection, string Host);

    /// <summary>The connection a worker keeps between items.</summary>
    private sealed class Session
    {
        public Connected? Current { get; set; }

        public async Task CloseAsync(SmtpWorker worker)
        {
            if (Current is { } connected)
            {
                Current = null;
                await worker.CloseAsync(connected.Connection).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Why there is no connection: every recipient of the item gets the same outcome.</summary>
    private sealed record NoConnection(bool Permanent, string Reason, BounceClassification Class)
    {
        public RecipientOutcome For(int index) =>
            new(index, Permanent ? DeliveryOutcome.Bounced : DeliveryOutcome.Deferred, Reason, BounceClass: (int)Class.Class, ErrorCode: Class.ErrorCode);
    }

    /// <summary>A failure's class: from the peer's reply when there is one, else from what went wrong.</summary>
    private static BounceClassification Classify(OutboundFailure failure) => failure.Reply is { } reply
        ? BounceClassifier.Classify(reply)
        : BounceClassifier.Classify(failure.Kind == OutboundFailureKind.Timeout ? DeliveryFailure.ConnectionTimeout : DeliveryFailure.ConnectionFailure, failure.Detail);
}
