using System.Net;
using Beacon.Tracker;

namespace Beacon.Tests.Tracker;

public sealed class ClientAddressTests
{
    private readonly ClientAddress _addresses = new([IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("::1/128")]);

    [Theory]
    [InlineData("198.51.100.9", "203.0.113.5", null, "198.51.100.9")] // not a proxy: its header is not believed
    [InlineData("10.0.0.2", "203.0.113.5", null, "203.0.113.5")]
    [InlineData("10.0.0.2", "192.0.2.1, 203.0.113.5, 10.0.0.3", null, "203.0.113.5")] // past trusted hops, not the forgeable first entry
    [InlineData("10.0.0.2", "203.0.113.5:4711", null, "203.0.113.5")]
    [InlineData("10.0.0.2", "[2001:db8::5]:4711", null, "2001:db8::5")]
    [InlineData("10.0.0.2", "garbage, 10.0.0.3", null, "10.0.0.3")]
    [InlineData("10.0.0.2", "", "203.0.113.6", "203.0.113.6")]
    [InlineData("10.0.0.2", "", null, "10.0.0.2")]
    [InlineData("::ffff:10.0.0.2", "203.0.113.5", null, "203.0.113.5")]
    [InlineData("::1", "10.0.0.4", null, "10.0.0.4")] // only trusted hops: the farthest one
    public void Forwarded_addresses_are_believed_only_from_trusted_proxies(string peer, string? forwardedFor, string? realIp, string expected) =>
        Assert.Equal(IPAddress.Parse(expected), _addresses.Resolve(IPAddress.Parse(peer), forwardedFor, realIp));
}
