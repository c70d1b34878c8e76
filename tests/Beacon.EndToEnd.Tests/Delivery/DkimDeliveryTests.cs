using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Beacon.Config;
using Beacon.EndToEnd.Tests.Sink;
using Beacon.Links;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;

namespace Beacon.EndToEnd.Tests.Delivery;

/// <summary>
/// delivery.dkim end to end: the copy the MX host receives is tracked, has no X-MSYS-API, and carries a signature
/// that two independent verifiers accept (Debian's dkimpy and MimeKit), given the key record the test publishes.
/// </summary>
public sealed partial class DkimDeliveryTests : IDisposable
{
    private const string Python = "/usr/bin/python3";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly string _directory = Directory.CreateTempSubdirectory("beacon-dkim-e2e-").FullName;
    private readonly RSA _rsa = RSA.Create(2048);

    public DkimDeliveryTests() => File.WriteAllText(KeyPath, _rsa.ExportRSAPrivateKeyPem());

    private string KeyPath => Path.Combine(_directory, "s1.pem");

    /// <summary>The TXT record of s1._domainkey.example.org.</summary>
    private string Record => "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(_rsa.ExportSubjectPublicKeyInfo());

    [Fact]
    public async Task A_tracked_message_arrives_signed_and_both_verifiers_accept_it()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"));
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await MxDeliveryTests.StartAsync(dns, sink.Endpoint.Port, Configure);

        var id = await MxDeliveryTests.SendAsync(beacon, "alice@example.test", tracked: true);

        var received = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.StartsWith("DKIM-Signature: v=1; a=rsa-sha256;", received.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("X-MSYS-API", received.Text, StringComparison.OrdinalIgnoreCase);
        var href = HrefPattern().Match(received.Text).Groups[1].Value;
        Assert.True(beacon.Server.Services.GetRequiredService<LinkCodec>().TryOpenUrl(href, out var click, out _), href);
        Assert.Equal(id, click!.Link.MessageId);

        Assert.Equal("ok", Dkimpy(received.Data));
        AssertMimeKitVerifies(received.Data);
        var delivery = Assert.Single(await beacon.WaitForEventsAsync("delivery"));
        Assert.True((bool?)delivery["dkim_signed"]);
        Assert.Null(delivery["dkim_signature_removed"]);
    }

    [Fact]
    public async Task A_senders_own_signature_is_removed_when_the_message_is_tracked_and_the_event_says_so()
    {
        await using var sink = await TestSink.StartAsync(IPAddress.Parse("127.0.0.2"));
        using var dns = await DnsServer.StartAsync(new DnsRecords().Mx("example.test", "mx1.example.test", 10).A("mx1.example.test", "127.0.0.2"));
        await using var beacon = await MxDeliveryTests.StartAsync(dns, sink.Endpoint.Port, Configure);

        await using (var client = await TestSmtpClient.ConnectEhloAsync(beacon.Smtp))
        {
            Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@example.org>")).Code);
            Assert.Equal(250, (await client.CommandAsync("RCPT TO:<bob@example.test>")).Code);
            Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
            await client.SendAsync(
                "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=esp.example; s=old; h=from:subject; bh=AAAA; b=BBBB\r\n" +
                "From: sender@example.org\r\nTo: bob@example.test\r\nSubject: signed upstream\r\n" +
                "X-MSYS-API: {\"options\": {\"click_tracking\": true}}\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
                "<html><body><a href=\"https://shop.example.com/\">Shop</a></body></html>\r\n.\r\n");
            Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        }

        var received = Assert.Single(await sink.WaitForMessagesAsync(1, Timeout));
        Assert.DoesNotContain("d=esp.example", received.Text, StringComparison.Ordinal);
        Assert.Single(SignaturePattern().Matches(received.Text));
        Assert.Equal("ok", Dkimpy(received.Data));
        var delivery = Assert.Single(await beacon.WaitForEventsAsync("delivery"));
        Assert.True((bool?)delivery["dkim_signature_removed"]);
        Assert.True((bool?)delivery["dkim_signed"]);
    }

    [Fact]
    public void A_bad_key_is_a_configuration_error_that_names_its_key()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadOrThrow(null, [
            new("delivery:dkim:0:domain", "example.org"), new("delivery:dkim:0:selector", "s1"), new("delivery:dkim:0:private_key", KeyPath),
            new("delivery:dkim:1:domain", "example.org"), new("delivery:dkim:1:selector", "s2"), new("delivery:dkim:1:private_key", Path.Combine(_directory, "missing.pem")),
            new("delivery:dkim:2:domain", "example.org"), new("delivery:dkim:2:selector", "s3"), new("delivery:dkim:2:private_key", KeyPath), new("delivery:dkim:2:algorithm", "rsa-sha1"),
        ]));
        Assert.Equal(2, error.Errors.Count);
        Assert.StartsWith("delivery:dkim:1:private_key: cannot read", error.Errors[0], StringComparison.Ordinal);
        Assert.StartsWith("delivery:dkim:2:algorithm: must be rsa-sha256 or ed25519-sha256", error.Errors[1], StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _rsa.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void Configure(BeaconOptions options)
    {
        options.Delivery.Dkim = [new DkimKeyOptions { Domain = "example.org", Selector = "s1", PrivateKey = KeyPath }];
    }

    /// <summary>dkimpy's verdict, its DNS lookup answered with the test's record: "ok", or what went wrong.</summary>
    private string Dkimpy(byte[] message)
    {
        Assert.True(File.Exists(Python), "python3-dkim is needed: apt-get install -y python3-dkim");
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".eml");
        File.WriteAllBytes(path, message);
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "-c",
            "import sys, dkim\nrecord = sys.argv[1].encode()\nmessage = open(sys.argv[2], 'rb').read()\n" +
            "print('ok' if dkim.verify(message, dnsfunc=lambda name, timeout=5: record if name == b's1._domainkey.example.org.' else None) else 'fail')",
            Record, path,
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (output.Trim() + error.Trim()).Trim();
    }

    private void AssertMimeKitVerifies(byte[] data)
    {
        var message = MimeMessage.Load(new MemoryStream(data));
        var signature = Assert.Single(message.Headers, h => h.Id == HeaderId.DkimSignature);
        var verifier = new DkimVerifier(new Locator(PublicKeyFactory.CreateKey(_rsa.ExportSubjectPublicKeyInfo())));
        Assert.True(verifier.Verify(message, signature), "MimeKit rejects " + signature);
    }

    [GeneratedRegex("href=\"([^\"]+)\"")]
    private static partial Regex HrefPattern();

    [GeneratedRegex("^DKIM-Signature:", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex SignaturePattern();

    private sealed class Locator(AsymmetricKeyParameter key) : DkimPublicKeyLocatorBase
    {
        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            (domain, selector) == ("example.org", "s1") ? key : throw new InvalidOperationException($"no key {selector}._domainkey.{domain}");

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
