using Beacon.Config;
using Beacon.Queue;

namespace Beacon.Tests.Queue;

public sealed class RouterTests
{
    [Fact]
    public void The_global_mode_applies_unless_a_domain_has_its_own_route()
    {
        var router = new Router(new DeliveryOptions
        {
            Mode = "mx",
            Smarthost = "relay.example.net:587",
            Domains =
            [
                new DomainRouteOptions { Domain = "Corp.Example", Mode = "smarthost", Tls = "required" },
                new DomainRouteOptions { Domain = "test.example", Mode = "capture" },
            ],
        });

        var mx = router.Resolve("Gmail.COM.");
        Assert.Equal((RouteKind.Mx, "gmail.com", "gmail.com", 25, TlsPolicy.Opportunistic), (mx.Kind, mx.Key, mx.Domain, mx.Port, mx.Tls));
        var relay = router.Resolve("corp.example");
        Assert.Equal((RouteKind.Smarthost, new NextHop("relay.example.net", 587), TlsPolicy.Required), (relay.Kind, relay.Smarthost, relay.Tls));
        Assert.Equal(RouteKind.Capture, router.Resolve("TEST.example").Kind);
    }

    [Fact]
    public void Internationalised_domains_are_routed_by_their_a_label()
    {
        var router = new Router(new DeliveryOptions { Mode = "mx" });
        Assert.Equal("xn--bcher-kva.example", router.Resolve("Bücher.example").Domain);
    }

    [Fact]
    public void Recipients_of_every_domain_share_one_smarthost_queue()
    {
        var router = new Router(new DeliveryOptions { Mode = "smarthost", Smarthost = "[2001:db8::25]:2525" });
        Assert.Equal(router.Resolve("a.example").Key, router.Resolve("b.example").Key);
        Assert.Equal(new NextHop("2001:db8::25", 2525), router.Resolve("a.example").Smarthost);
    }

    [Theory]
    [InlineData("relay.example.net:25", true)]
    [InlineData("192.0.2.1:587", true)]
    [InlineData("[::1]:2525", true)]
    [InlineData("relay.example.net", false)]
    [InlineData("::1:25", false)]
    [InlineData("relay.example.net:0", false)]
    [InlineData("relay.example.net:70000", false)]
    [InlineData("bad host:25", false)]
    public void Smarthost_syntax(string text, bool valid) => Assert.Equal(valid, NextHop.TryParse(text, out _));
}
