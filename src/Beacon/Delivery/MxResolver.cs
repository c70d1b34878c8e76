using System.Net;
using System.Net.Sockets;
using Beacon.Config;
using DnsClient;
using DnsClient.Protocol;

namespace Beacon.Delivery;

/// <summary>
/// Finds the hosts that take mail for a domain (RFC 5321 §5.1): MX records in preference order (equal
/// preferences shuffled), each host's IPv4 then IPv6 addresses; no MX → the domain's own addresses (implicit
/// MX); "MX 0 ." → the domain accepts no mail (RFC 7505). A domain that does not exist, or has neither MX nor
/// address, fails permanently; a server that fails or times out fails temporarily. Answers are cached for their TTL.
/// </summary>
public sealed class MxResolver
{
    private readonly LookupClient _dns;

    public MxResolver(DeliveryOptions options)
    {
        var servers = options.DnsServers.Select(s =>
        {
            ConfigLoader.TryParseEndpoint(s, out var endpoint);
            return new NameServer(endpoint!);
        }).ToArray();
        var lookup = servers.Length > 0 ? new LookupClientOptions(servers) : new LookupClientOptions();
        lookup.UseCache = true;
        lookup.Timeout = TimeSpan.FromSeconds(5);
        lookup.Retries = 2;
        lookup.ThrowDnsErrors = false;
        lookup.ContinueOnDnsError = false;
        lookup.UseTcpFallback = true;
        _dns = new LookupClient(lookup);
    }

    public async Task<MxResult> ResolveAsync(string domain, CancellationToken cancellation)
    {
        if (domain.StartsWith('[') && domain.EndsWith(']'))
        {
            // An address literal (RFC 5321 §4.1.3): "[192.0.2.1]" or "[IPv6:2001:db8::1]".
            var literal = domain[1..^1];
            literal = literal.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase) ? literal[5..] : literal;
            return IPAddress.TryParse(literal, out var address)
                ? MxResult.Found([new MxHost(literal, [address])])
                : MxResult.Permanent($"'{domain}' is not an address literal");
        }

        IDnsQueryResponse mx;
        try
        {
            mx = await _dns.QueryAsync(domain, QueryType.MX, QueryClass.IN, cancellation).ConfigureAwait(false);
        }
        catch (DnsResponseException e)
        {
            return MxResult.Temporary($"MX lookup of {domain} failed: {e.Message}");
        }

        if (mx.HasError)
        {
            return mx.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain
                ? MxResult.Permanent($"domain {domain} does not exist (NXDOMAIN)")
                : MxResult.Temporary($"MX lookup of {domain} failed: {mx.ErrorMessage}");
        }

        var records = mx.Answers.MxRecords().ToList();
        if (records.Count == 0)
        {
            var implicitHost = await AddressesAsync(domain, mx, cancellation).ConfigureAwait(false);
            return implicitHost switch
            {
                { Error: { } error } => MxResult.Temporary(error),
                { Addresses.Count: > 0 } => MxResult.Found([new MxHost(domain, implicitHost.Addresses)]),
                _ => MxResult.Permanent($"domain {domain} has no MX and no address records"),
            };
        }

        if (records.Any(r => r.Exchange.Value is "." or ""))
        {
            return MxResult.NullMx(domain);
        }

        var hosts = new List<MxHost>();
        string? lastError = null;
        foreach (var group in records.GroupBy(r => r.Preference).OrderBy(g => g.Key))
        {
            foreach (var record in group.OrderBy(_ => Random.Shared.Next()))
            {
                var name = record.Exchange.Value.TrimEnd('.');
                var found = await AddressesAsync(name, mx, cancellation).ConfigureAwait(false);
                lastError = found.Error ?? lastError;
                if (found.Addresses.Count > 0)
                {
                    hosts.Add(new MxHost(name, found.Addresses));
                }
            }
        }

        // MX hosts that don't resolve may be a passing DNS problem: retry rather than bounce (as Postfix does).
        return hosts.Count > 0
            ? MxResult.Found(hosts)
            : MxResult.Temporary(lastError ?? $"no MX host of {domain} has an address");
    }

    private async Task<(IReadOnlyList<IPAddress> Addresses, string? Error)> AddressesAsync(string host, IDnsQueryResponse previous, CancellationToken cancellation)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return ([literal], null);
        }

        // Servers often send the addresses of MX hosts along (additional section): no second query then.
        var known = previous.Additionals.ARecords().Where(a => Same(a.DomainName, host)).Select(a => a.Address)
            .Concat(previous.Additionals.AaaaRecords().Where(a => Same(a.DomainName, host)).Select(a => a.Address)).ToList();
        if (known.Count > 0)
        {
            return (known, null);
        }

        var addresses = new List<IPAddress>();
        string? error = null;
        foreach (var type in new[] { QueryType.A, QueryType.AAAA })
        {
            try
            {
                var response = await _dns.QueryAsync(host, type, QueryClass.IN, cancellation).ConfigureAwait(false);
                if (response.HasError && response.Header.ResponseCode != DnsHeaderResponseCode.NotExistentDomain)
                {
                    error = $"{type} lookup of {host} failed: {response.ErrorMessage}";
                }

                addresses.AddRange(response.Answers.OfType<AddressRecord>().Select(a => a.Address)
                    .Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6));
            }
            catch (DnsResponseException e)
            {
                error = $"{type} lookup of {host} failed: {e.Message}";
            }
        }

        return (addresses, addresses.Count > 0 ? null : error);
    }

    private static bool Same(DnsString name, string host) => string.Equals(name.Value.TrimEnd('.'), host, StringComparison.OrdinalIgnoreCase);
}

/// <summary>One host that takes mail for a domain, with its addresses in the order they are tried.</summary>
public sealed record MxHost(string Name, IReadOnlyList<IPAddress> Addresses);

/// <summary>The answer for a domain: hosts to try, or why there are none and whether that may change.</summary>
public sealed record MxResult(IReadOnlyList<MxHost> Hosts, string? Error, bool IsPermanent, bool IsNullMx = false)
{
    public static MxResult Found(IReadOnlyList<MxHost> hosts) => new(hosts, null, false);

    public static MxResult Temporary(string error) => new([], error, false);

    public static MxResult Permanent(string error) => new([], error, true);

    public static MxResult NullMx(string domain) => new([], $"domain {domain} accepts no mail (null MX, RFC 7505)", true, IsNullMx: true);
}
