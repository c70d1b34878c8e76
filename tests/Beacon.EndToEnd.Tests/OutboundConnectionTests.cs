using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Beacon.Config;
using Beacon.Delivery;

namespace Beacon.EndToEnd.Tests;

/// <summary>Beacon's SMTP client against real peers: Beacon's own server, and postfix's smtp-sink when installed.</summary>
public sealed class OutboundConnectionTests
{
    private static readonly string[] FullExtensions = ["PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING"];

    internal static OutboundOptions Options(OutboundTls tls = OutboundTls.None) => new()
    {
        HeloName = "client.test",
        ConnectTimeout = TimeSpan.FromSeconds(10),
        GreetingTimeout = TimeSpan.FromSeconds(10),
        CommandTimeout = TimeSpan.FromSeconds(10),
        DataTimeout = TimeSpan.FromSeconds(10),
        DataTerminationTimeout = TimeSpan.FromSeconds(10),
        Tls = tls,
    };

    internal static async Task<OutboundConnection> ConnectAsync(IPEndPoint endpoint, OutboundOptions options)
    {
        var result = await OutboundConnection.ConnectAsync(endpoint, "localhost", options, CancellationToken.None);
        Assert.True(result.Succeeded, result.Failure?.ToString());
        return result.Connection!;
    }

    internal static Stream Content(string text) => new MemoryStream(Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task A_plain_session_delivers_the_bytes_exactly()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Extensions.AddRange(FullExtensions));
        await using var connection = await ConnectAsync(beacon.Smtp, Options());
        Assert.False(connection.IsTls);
        Assert.True(connection.Capabilities.Pipelining && connection.Capabilities.EightBitMime && connection.Capabilities.SmtpUtf8 && connection.Capabilities.Chunking);
        Assert.Equal(beacon.Smtp, connection.RemoteEndPoint);

        var content = "Subject: plain\r\n\r\n.leading dot\r\n..two\r\nlast line without CRLF";
        var result = await connection.SendAsync(new Envelope("sender@example.org", ["rcpt@example.com"]) { Size = content.Length }, Content(content), CancellationToken.None);

        var recipient = Assert.Single(result.Recipients);
        Assert.True(recipient.Delivered, recipient.ToString());
        Assert.Equal(250, result.DataReply!.Code);
        var message = Assert.Single(beacon.Queue);
        Assert.Equal(content + "\r\n", beacon.ContentText(message.MessageId));
        Assert.Equal(1, connection.MessagesSent);
        Assert.True(connection.IsUsable);
        await connection.QuitAsync();
        Assert.False(connection.IsUsable);
    }

    [Fact]
    public async Task A_pipelined_transaction_with_several_recipients_and_8bit_content()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Extensions.AddRange(FullExtensions));
        await using var connection = await ConnectAsync(beacon.Smtp, Options());
        var recipients = Enumerable.Range(1, 5).Select(i => $"rcpt{i}@example.com").ToList();
        var content = "Subject: caf\u00e9\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nd\u00e9j\u00e0 vu\r\n";

        var result = await connection.SendAsync(new Envelope("sender@example.org", recipients) { EightBitMime = true }, Content(content), CancellationToken.None);

        Assert.Equal(250, result.MailReply!.Code);
        Assert.All(result.Recipients, r => Assert.Equal((250, 250), (r.RcptReply!.Code, r.Reply!.Code)));
        Assert.Equal(recipients, result.Recipients.Select(r => r.Recipient));
        var message = Assert.Single(beacon.Queue);
        Assert.True(message.EightBitMime);
        Assert.Equal(Encoding.UTF8.GetBytes(content), beacon.Content(message.MessageId));
    }

    [Fact]
    public async Task One_connection_carries_the_whole_corpus_byte_for_byte()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Extensions.AddRange(FullExtensions));
        await using var connection = await ConnectAsync(beacon.Smtp, Options());
        var files = Directory.GetFiles(Repository.PathOf("tests/Beacon.Tests/TestData/enmime"), "*.raw", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        var sent = new Dictionary<string, byte[]>();
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            if (HasBareLineEnd(bytes))
            {
                continue; // those are sent as CRLF by design (DotStufferTests cover them)
            }

            await using var stream = File.OpenRead(file);
            var result = await connection.SendAsync(new Envelope("sender@example.org", ["rcpt@example.com"]) { EightBitMime = bytes.Any(b => b > 127), Size = bytes.Length }, stream, CancellationToken.None);
            Assert.True(result.Recipients[0].Delivered, $"{file}: {result.Recipients[0]}");
            sent[result.DataReply!.Text[^20..]] = bytes;
        }

        Assert.True(sent.Count >= 20, $"only {sent.Count} CRLF-clean messages in the corpus");
        Assert.Equal(sent.Count, connection.MessagesSent);
        foreach (var (id, bytes) in sent)
        {
            var expected = bytes.Length == 0 || bytes.AsSpan().EndsWith("\r\n"u8) ? bytes : [.. bytes, (byte)'\r', (byte)'\n'];
            Assert.Equal(expected, beacon.Content(id));
        }
    }

    [Fact]
    public async Task Opportunistic_tls_is_used_when_offered_and_the_ehlo_is_repeated()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            BeaconInstance.Listener(o).Tls = "self-signed";
            BeaconInstance.Listener(o).Extensions.AddRange(FullExtensions);
        });
        await using var connection = await ConnectAsync(beacon.Smtp, Options(OutboundTls.Opportunistic));
        Assert.True(connection.IsTls);
        Assert.False(connection.Capabilities.StartTls); // the second EHLO no longer offers it

        var result = await connection.SendAsync(new Envelope("sender@example.org", ["rcpt@example.com"]), Content("Subject: tls\r\n\r\nsecret\r\n"), CancellationToken.None);
        Assert.True(result.Recipients[0].Delivered);
        Assert.Equal("Subject: tls\r\n\r\nsecret\r\n", beacon.ContentText(Assert.Single(beacon.Queue).MessageId));
    }

    [Fact]
    public async Task Required_tls_fails_without_starttls_and_with_an_unverifiable_certificate()
    {
        await using (var plain = await BeaconInstance.StartAsync())
        {
            var result = await OutboundConnection.ConnectAsync(plain.Smtp, "localhost", Options(OutboundTls.Required), CancellationToken.None);
            Assert.Equal(OutboundFailureKind.TlsRequired, result.Failure!.Kind);
            Assert.False(result.Failure.Permanent);
        }

        await using var tls = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Tls = "self-signed");
        var verified = await OutboundConnection.ConnectAsync(tls.Smtp, "localhost", Options(OutboundTls.Required) with { VerifyCertificate = true }, CancellationToken.None);
        Assert.Equal(OutboundFailureKind.TlsFailed, verified.Failure!.Kind);

        await using var connection = await ConnectAsync(tls.Smtp, Options(OutboundTls.Required));
        Assert.True(connection.IsTls);
    }

    [Fact]
    public async Task Auth_plain_over_tls_and_a_wrong_password()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            BeaconInstance.Listener(o).Tls = "self-signed";
            BeaconInstance.AddUser(o);
        });
        var options = Options(OutboundTls.Required) with { Username = "app", Password = "secret" };
        await using (var connection = await ConnectAsync(beacon.Smtp, options))
        {
            var result = await connection.SendAsync(new Envelope("sender@example.org", ["rcpt@example.com"]), Content("Subject: auth\r\n\r\nx\r\n"), CancellationToken.None);
            Assert.True(result.Recipients[0].Delivered);
            Assert.Equal("42", Assert.Single(beacon.Queue).Context["mo_customer_id"]);
        }

        var refused = await OutboundConnection.ConnectAsync(beacon.Smtp, "localhost", options with { Password = "wrong" }, CancellationToken.None);
        Assert.Equal(OutboundFailureKind.AuthFailed, refused.Failure!.Kind);
        Assert.Equal(535, refused.Failure.Reply!.Code);
        Assert.False(refused.Failure.Permanent);

        var clearText = await OutboundConnection.ConnectAsync(beacon.Smtp, "localhost", options with { Tls = OutboundTls.None }, CancellationToken.None);
        Assert.Equal(OutboundFailureKind.AuthFailed, clearText.Failure!.Kind);
        Assert.Null(clearText.Failure.Reply); // never sent: no TLS
    }

    [Fact]
    public async Task Smtp_utf8_addresses_go_to_a_peer_that_supports_them()
    {
        await using var beacon = await BeaconInstance.StartAsync(o => BeaconInstance.Listener(o).Extensions.AddRange(FullExtensions));
        await using var connection = await ConnectAsync(beacon.Smtp, Options());
        var result = await connection.SendAsync(new Envelope("sender@example.org", ["用户@例子.example"]), Content("Subject: utf8\r\n\r\nx\r\n"), CancellationToken.None);
        Assert.True(result.Recipients[0].Delivered, result.Recipients[0].ToString());
        Assert.True(Assert.Single(beacon.Queue).SmtpUtf8);
    }

    [SmtpSinkFact]
    public async Task Postfix_smtp_sink_accepts_several_pipelined_messages_on_one_connection()
    {
        var port = FreePort();
        using var sink = Process.Start(new ProcessStartInfo("smtp-sink", $"-u nobody -c 127.0.0.1:{port} 100") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            var endpoint = new IPEndPoint(IPAddress.Loopback, port);
            await BeaconInstance.WaitUntilAsync(async () => await CanConnectAsync(endpoint), "smtp-sink listening");
            await using var connection = await ConnectAsync(endpoint, Options());
            Assert.True(connection.Capabilities.Pipelining);
            for (var i = 0; i < 3; i++)
            {
                var result = await connection.SendAsync(new Envelope("sender@example.org", ["a@example.com", "b@example.com"]) { Size = 40 }, Content($"Subject: sink {i}\r\n\r\n.dot\r\n"), CancellationToken.None);
                Assert.All(result.Recipients, r => Assert.True(r.Delivered, r.ToString()));
            }

            Assert.Equal(3, connection.MessagesSent);
            await connection.QuitAsync();
        }
        finally
        {
            sink.Kill();
            await sink.WaitForExitAsync();
        }
    }

    private static bool HasBareLineEnd(byte[] bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            if ((bytes[i] == (byte)'\n' && (i == 0 || bytes[i - 1] != (byte)'\r')) || (bytes[i] == (byte)'\r' && (i + 1 == bytes.Length || bytes[i + 1] != (byte)'\n')))
            {
                return true;
            }
        }

        return false;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<bool> CanConnectAsync(IPEndPoint endpoint)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>A fact that needs postfix's smtp-sink; skipped, saying why, where postfix is not installed.</summary>
internal sealed class SmtpSinkFactAttribute : FactAttribute
{
    public SmtpSinkFactAttribute()
    {
        if (!(Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Append("/usr/sbin").Any(d => File.Exists(Path.Combine(d, "smtp-sink"))))
        {
            Skip = "smtp-sink (postfix) is not installed; test.sh installs postfix";
        }
    }
}
