using System.Net;
using System.Text;
using Beacon.Tracker;
using Beacon.Tracker.Http;

namespace Beacon.Tests.Tracker.Http;

/// <summary>The head parser on its own: what it keeps of a request, and how it finds the end of a head that arrives in pieces.</summary>
public sealed class HttpRequestParserTests
{
    private readonly HttpRequestParser _parser = new(1024, 4096, 16);

    [Fact]
    public void Only_the_trackers_headers_are_kept_and_repeated_ones_are_joined()
    {
        var status = Parse(
            "GET /f/abc?x=1 HTTP/1.1\r\nHost: t.example\r\nuser-agent: Mozilla/5.0 (Ünïcode)\r\nAccept-Language: de-DE\r\nCookie: a=b\r\n"
            + "X-Forwarded-For: 203.0.113.9\r\nx-forwarded-for:  10.0.0.1 \r\nX-Real-IP: 203.0.113.8\r\nPurpose: prefetch\r\nSec-Purpose: prefetch;prerender\r\n"
            + "X-Moz: prefetch\r\nX-Purpose: preview\r\n\r\n",
            out var request, out var framing, out var consumed, out _);
        Assert.Equal(ParseStatus.Complete, status);
        Assert.Equal(TrackerMethod.Get, request.Method);
        Assert.Equal("/f/abc?x=1", request.Target);
        Assert.Equal("Mozilla/5.0 (Ünïcode)", request.UserAgent);
        Assert.Equal("de-DE", request.AcceptLanguage);
        Assert.Equal("203.0.113.9, 10.0.0.1", request.ForwardedFor);
        Assert.Equal("203.0.113.8", request.RealIp);
        Assert.Equal("prefetch", request.Purpose);
        Assert.Equal("prefetch;prerender", request.SecPurpose);
        Assert.Equal("prefetch", request.XMoz);
        Assert.Equal("preview", request.XPurpose);
        Assert.Equal(new HttpFraming(Http10: false, KeepAlive: true, HasBody: false), framing);
        Assert.True(consumed > 0);
    }

    [Fact]
    public void Headers_not_sent_are_null()
    {
        Assert.Equal(ParseStatus.Complete, Parse("HEAD /q/x HTTP/1.0\r\n\r\n", out var request, out var framing, out _, out _));
        Assert.Equal(TrackerMethod.Head, request.Method);
        Assert.Null(request.UserAgent);
        Assert.Null(request.ForwardedFor);
        Assert.Equal(new HttpFraming(Http10: true, KeepAlive: false, HasBody: false), framing);
    }

    [Fact]
    public void A_head_arriving_in_pieces_is_incomplete_until_its_empty_line_and_consumed_to_it()
    {
        const string head = "GET /robots.txt HTTP/1.1\r\nHost: t.example\r\n\r\n";
        var bytes = Encoding.ASCII.GetBytes(head + "GET /next");
        var scan = default(HeadScan);
        for (var length = 1; length < head.Length; length++)
        {
            var request = new TrackerRequest();
            Assert.Equal(ParseStatus.Incomplete, _parser.TryParse(bytes.AsSpan(0, length), ref scan, ref request, out _, out _, out _));
        }

        var complete = new TrackerRequest();
        Assert.Equal(ParseStatus.Complete, _parser.TryParse(bytes, ref scan, ref complete, out _, out var consumed, out _));
        Assert.Equal(head.Length, consumed);
    }

    [Theory]
    [InlineData("GET /robots.txt HTTP/1.1\r\nHost: t\r\nConnection: Close\r\n\r\n", false, false)]
    [InlineData("GET /robots.txt HTTP/1.1\r\nHost: t\r\nConnection: upgrade, keep-alive\r\n\r\n", true, false)]
    [InlineData("GET /robots.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", true, false)]
    [InlineData("GET /robots.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n", false, true)]
    [InlineData("GET /robots.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", false, true)]
    [InlineData("GET /robots.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, false)]
    public void Framing_follows_connection_and_body_headers(string head, bool keepAlive, bool hasBody)
    {
        Assert.Equal(ParseStatus.Complete, Parse(head, out _, out var framing, out _, out _));
        Assert.Equal(keepAlive, framing.KeepAlive);
        Assert.Equal(hasBody, framing.HasBody);
    }

    [Fact]
    public void Limits_are_found_before_the_head_is_complete()
    {
        Assert.Equal(ParseStatus.Rejected, Parse("GET /" + new string('a', 1100), out _, out _, out _, out var line));
        Assert.Equal(RequestRejection.RequestLineTooLong, line);
        Assert.Equal(ParseStatus.Rejected, Parse("GET / HTTP/1.1\r\nCookie: " + new string('c', 4200), out _, out _, out _, out var size));
        Assert.Equal(RequestRejection.HeadersTooLarge, size);
        Assert.Equal(ParseStatus.Rejected, Parse("GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Repeat("A: b\r\n", 17)), out _, out _, out _, out var count));
        Assert.Equal(RequestRejection.TooManyHeaders, count);
    }

    private ParseStatus Parse(string text, out TrackerRequest request, out HttpFraming framing, out int consumed, out RequestRejection rejection)
    {
        var scan = default(HeadScan);
        request = new TrackerRequest { Peer = IPAddress.Loopback, Target = string.Empty };
        return _parser.TryParse(Encoding.UTF8.GetBytes(text), ref scan, ref request, out framing, out consumed, out rejection);
    }
}
