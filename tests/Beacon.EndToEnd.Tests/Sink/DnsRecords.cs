using System.Net;
using System.Net.Sockets;

namespace Beacon.EndToEnd.Tests.Sink;

/// <summary>
/// The zone a <see cref="DnsServer"/> answers from. Every name not given here is NXDOMAIN; a name that has
/// records, but none of the type asked, gets an empty NOERROR answer (NODATA).
/// </summary>
public sealed class DnsRecords
{
    private readonly List<(string Domain, string Target, int Preference)> _mx = [];
    private readonly Dictionary<string, List<IPAddress>> _addresses = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(string Name, string Text)> _txt = [];

    public IReadOnlyList<(string Domain, string Target, int Preference)> MxRecords => _mx;

    public IReadOnlyDictionary<string, List<IPAddress>> Addresses => _addresses;

    public IReadOnlyList<(string Name, string Text)> TxtRecords => _txt;

    public DnsRecords Mx(string domain, string target, int preference)
    {
        if (target is "." or "")
        {
            throw new ArgumentException("a null MX has preference 0: use NullMx", nameof(target));
        }

        _mx.Add((domain, target, preference));
        return this;
    }

    /// <summary>RFC 7505: "MX 0 ." — the domain accepts no mail.</summary>
    public DnsRecords NullMx(string domain)
    {
        _mx.Add((domain, ".", 0));
        return this;
    }

    /// <summary>An A or AAAA record, by the address's family.</summary>
    public DnsRecords Address(string name, IPAddress address)
    {
        if (!_addresses.TryGetValue(name, out var list))
        {
            _addresses[name] = list = [];
        }

        list.Add(address);
        return this;
    }

    public DnsRecords A(string name, string address) =>
        IPAddress.Parse(address) is { AddressFamily: AddressFamily.InterNetwork } v4 ? Address(name, v4) : throw new ArgumentException($"{address} is not IPv4", nameof(address));

    public DnsRecords Aaaa(string name, string address) =>
        IPAddress.Parse(address) is { AddressFamily: AddressFamily.InterNetworkV6 } v6 ? Address(name, v6) : throw new ArgumentException($"{address} is not IPv6", nameof(address));

    /// <summary>A TXT record (a DKIM key, SPF); text longer than 255 octets is split into several strings, as DNS needs.</summary>
    public DnsRecords Txt(string name, string text)
    {
        if (text.Contains(',', StringComparison.Ordinal))
        {
            throw new ArgumentException("dnsmasq separates TXT strings with commas", nameof(text));
        }

        _txt.Add((name, text));
        return this;
    }

    /// <summary>dnsmasq's options for these records.</summary>
    internal IEnumerable<string> ToDnsmasqArguments()
    {
        foreach (var (domain, target, preference) in _mx)
        {
            // dnsmasq writes the target "." as the root name: the RFC 7505 null MX, rdata 00 00 00.
            yield return $"--mx-host={domain},{target},{preference}";
        }

        foreach (var (name, addresses) in _addresses)
        {
            yield return $"--host-record={name},{string.Join(',', addresses)}";
        }

        foreach (var (name, text) in _txt)
        {
            yield return $"--txt-record={name},{string.Join(',', text.Chunk(255).Select(c => new string(c)))}";
        }
    }
}
