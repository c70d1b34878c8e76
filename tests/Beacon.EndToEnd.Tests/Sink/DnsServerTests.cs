using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace Beacon.EndToEnd.Tests.Sink;

/// <summary>The fake DNS (dnsmasq) answering DnsClient, as Beacon's delivery will ask it.</summary>
public sealed class DnsServerTests
{
    [Fact]
    public async Task Mx_records_come_back_with_their_preferences_and_the_hosts_addresses()
    {
        using var dns = await DnsServer.StartAsync(new DnsRecords()
            .Mx("example.test", "mx2.example.test", 20)
            .Mx("example.test", "mx1.example.test", 10)
            .A("mx1.example.test", "127.0.0.2")
            .A("mx2.example.test", "127.0.0.3")
            .Aaaa("mx2.example.test", "::1"));
        var client = dns.Client();

        var mx = await client.QueryAsync("example.test", QueryType.MX);
        var a = await client.QueryAsync("mx2.example.test", QueryType.A);
        var aaaa = await client.QueryAsync("mx2.example.test", QueryType.AAAA);

        Assert.False(mx.HasError, dns.Log);
        Assert.Equal([(10, "mx1.example.test."), (20, "mx2.example.test.")], mx.Answers.MxRecords().OrderBy(r => r.Preference).Select(r => ((int)r.Preference, r.Exchange.Value)));
        Assert.Equal([IPAddress.Parse("127.0.0.3")], a.Answers.ARecords().Select(r => r.Address));
        Assert.Equal([IPAddress.IPv6Loopback], aaaa.Answers.AaaaRecords().Select(r => r.Address));
    }

    [Fact]
    public async Task A_name_not_given_is_nxdomain_and_a_name_without_the_type_is_nodata()
    {
        using var dns = await DnsServer.StartAsync(new DnsRecords().A("host.example.test", "127.0.0.2"));
        var client = dns.Client();

        var missing = await client.QueryAsync("nothing.example.test", QueryType.MX);
        var noMx = await client.QueryAsync("host.example.test", QueryType.MX);
        var elsewhere = await client.QueryAsync("example.com", QueryType.A);

        Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, missing.Header.ResponseCode);
        Assert.Equal(DnsHeaderResponseCode.NoError, noMx.Header.ResponseCode);
        Assert.Empty(noMx.Answers);
        Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, elsewhere.Header.ResponseCode); // never forwarded
    }

    [Fact]
    public async Task Null_mx_is_served_as_preference_0_and_the_root_name()
    {
        using var dns = await DnsServer.StartAsync(new DnsRecords().NullMx("nomail.example.test"));

        var response = await dns.Client().QueryAsync("nomail.example.test", QueryType.MX);

        var mx = Assert.Single(response.Answers.MxRecords());
        Assert.Equal(0, mx.Preference);
        Assert.Equal(".", mx.Exchange.Value);
    }

    [Fact]
    public async Task Long_txt_record_is_served_whole_in_255_octet_strings_over_udp_and_tcp()
    {
        var key = "v=DKIM1; k=rsa; p=" + new string('A', 392);
        using var dns = await DnsServer.StartAsync(new DnsRecords().Txt("sel._domainkey.example.test", key));
        var tcp = new LookupClient(new LookupClientOptions(dns.Endpoint) { UseCache = false, UseTcpOnly = true, Timeout = TimeSpan.FromSeconds(2) });

        var udpAnswer = Assert.Single((await dns.Client().QueryAsync("sel._domainkey.example.test", QueryType.TXT)).Answers.TxtRecords());
        var tcpAnswer = Assert.Single((await tcp.QueryAsync("sel._domainkey.example.test", QueryType.TXT)).Answers.TxtRecords());

        Assert.Equal([255, 155], udpAnswer.Text.Select(t => t.Length));
        Assert.Equal(key, string.Concat(udpAnswer.Text));
        Assert.Equal(key, string.Concat(tcpAnswer.Text));
    }
}
