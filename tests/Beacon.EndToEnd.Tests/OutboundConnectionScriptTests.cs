using System.Text;
using Beacon.Delivery;
using static Beacon.EndToEnd.Tests.OutboundConnectionTests;

namespace Beacon.EndToEnd.Tests;

/// <summary>Beacon's SMTP client against scripted peers: the refusals and failures real MX hosts produce.</summary>
public sealed class OutboundConnectionScriptTests
{
    private static readonly Envelope ThreeRecipients = new("sender@example.org", ["a@example.com", "b@example.com", "c@example.com"]);

    [Fact]
    public async Task Ehlo_not_recognised_falls_back_to_helo_and_sends_step_by_step()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.SayAsync("220 old.test SMTP");
            await s.AnswerAsync("EHLO client.test", "500 Command unrecognized");
            await s.AnswerAsync("HELO client.test", "250 old.test");
            await s.AnswerAsync("MAIL FROM:<sender@example.org>", "250 OK");
            await s.AnswerAsync("RCPT TO:<a@example.com>", "250 OK");
            await s.AnswerAsync("DATA", "354 go ahead");
            Assert.Equal("x\r\n.\r\n", Encoding.ASCII.GetString(await s.ReadDataAsync()));
            await s.SayAsync("250 queued");
            await s.AnswerAsync("QUIT", "221 bye");
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options());
        Assert.Empty(connection.Capabilities.Keywords);

        var result = await connection.SendAsync(new Envelope("sender@example.org", ["a@example.com"]) { Size = 3, EightBitMime = true }, Content("x\r\n"), CancellationToken.None);

        Assert.True(result.Recipients[0].Delivered);
        await connection.QuitAsync();
    }

    [Theory]
    [InlineData("421 4.3.2 too busy", false)]
    [InlineData("554 5.7.1 go away", true)]
    public async Task A_refused_greeting_is_a_failure(string greeting, bool permanent)
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.SayAsync(greeting);
            if (permanent)
            {
                await s.ExpectAsync("QUIT"); // RFC 5321 §3.1: the client says QUIT after 554
            }

            await s.WaitForCloseAsync();
        });

        var result = await OutboundConnection.ConnectAsync(peer.Endpoint, "peer.test", Options(), CancellationToken.None);

        Assert.Equal(OutboundFailureKind.GreetingRejected, result.Failure!.Kind);
        Assert.Equal(greeting, result.Failure.Reply!.ToString());
        Assert.Equal(permanent, result.Failure.Permanent);
    }

    [Fact]
    public async Task Ehlo_and_helo_refused()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.SayAsync("220 peer.test");
            await s.AnswerAsync("EHLO client.test", "550 5.7.1 not you");
            await s.ExpectAsync("QUIT");
            await s.WaitForCloseAsync();
        });

        var result = await OutboundConnection.ConnectAsync(peer.Endpoint, "peer.test", Options(), CancellationToken.None);

        Assert.Equal((OutboundFailureKind.HeloRejected, true), (result.Failure!.Kind, result.Failure.Permanent));
    }

    [Fact]
    public async Task A_multiline_ehlo_sets_the_mail_parameters_and_recipients_get_their_own_replies()
    {
        string[] transcript = [];
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync("PIPELINING", "SIZE 1000000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES");

            // All four commands arrive before any reply is sent: a client that waited would time out here.
            await s.ExpectAsync("MAIL FROM:<sender@example.org> SIZE=10 BODY=8BITMIME");
            await s.ExpectAsync("RCPT TO:<a@example.com>");
            await s.ExpectAsync("RCPT TO:<b@example.com>");
            await s.ExpectAsync("RCPT TO:<c@example.com>");
            await s.ExpectAsync("DATA");
            await s.SayAsync("250 2.1.0 OK", "250 2.1.5 OK", "450 4.2.0 b: greylisted", "550 5.1.1 c: no such user", "354 go");
            Assert.Equal("caf\u00e9\r\n.\r\n", Encoding.UTF8.GetString(await s.ReadDataAsync()));
            await s.SayAsync("250 2.0.0 queued as 1234");
            await s.AnswerAsync("QUIT", "221 2.0.0 bye");
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options() with { CommandTimeout = TimeSpan.FromSeconds(5) });
        Assert.Equal(1000000, connection.Capabilities.MaxSize);

        var result = await connection.SendAsync(ThreeRecipients with { Size = 10, EightBitMime = true }, Content("caf\u00e9"), CancellationToken.None);

        Assert.Equal(["250 2.0.0 queued as 1234", "450 4.2.0 b: greylisted", "550 5.1.1 c: no such user"], result.Recipients.Select(r => r.Reply!.ToString()));
        Assert.Equal([false, false, true], result.Recipients.Select(r => r.Permanent));
        Assert.True(connection.IsUsable);
        await connection.QuitAsync();
    }

    [Theory]
    [InlineData("452 4.3.1 insufficient storage")]
    [InlineData("554 5.5.1 no valid recipients")]
    public async Task A_refused_data_goes_to_the_accepted_recipients_and_rset_clears_the_transaction(string dataReply)
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync("ENHANCEDSTATUSCODES");
            await s.AnswerAsync("MAIL FROM:<sender@example.org>", "250 2.1.0 OK");
            await s.AnswerAsync("RCPT TO:<a@example.com>", "250 2.1.5 OK");
            await s.AnswerAsync("RCPT TO:<b@example.com>", "550 5.1.1 unknown");
            await s.AnswerAsync("RCPT TO:<c@example.com>", "250 2.1.5 OK");
            await s.AnswerAsync("DATA", dataReply);
            await s.AnswerAsync("RSET", "250 2.0.0 OK");
            await s.AnswerAsync("QUIT", "221 2.0.0 bye");
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options());

        var result = await connection.SendAsync(ThreeRecipients, Content("x\r\n"), CancellationToken.None);

        Assert.Equal([dataReply, "550 5.1.1 unknown", dataReply], result.Recipients.Select(r => r.Reply!.ToString()));
        Assert.Equal(dataReply, result.DataReply!.ToString());
        Assert.Equal(0, connection.MessagesSent);
        Assert.True(connection.IsUsable);
        await connection.QuitAsync();
    }

    [Fact]
    public async Task With_pipelining_and_no_recipient_accepted_data_is_refused_then_rset_and_the_connection_is_reused()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync("PIPELINING");
            foreach (var line in new[] { "MAIL FROM:<sender@example.org>", "RCPT TO:<a@example.com>", "DATA" })
            {
                await s.ExpectAsync(line);
            }

            await s.SayAsync("250 OK", "550 5.1.1 unknown", "554 5.5.1 Error: no valid recipients");
            await s.AnswerAsync("RSET", "250 OK");
            foreach (var line in new[] { "MAIL FROM:<>", "RCPT TO:<b@example.com>", "DATA" })
            {
                await s.ExpectAsync(line);
            }

            await s.SayAsync("250 OK", "250 OK", "354 go");
            await s.ReadDataAsync();
            await s.SayAsync("250 queued");
            await s.AnswerAsync("QUIT", "221 bye");
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options());
        var peerSupportsUtf8 = connection.Capabilities.SmtpUtf8;

        var first = await connection.SendAsync(new Envelope("sender@example.org", ["a@example.com"]), Content("x"), CancellationToken.None);
        Assert.Equal("550 5.1.1 unknown", first.Recipients[0].Reply!.ToString());
        Assert.Equal(554, first.DataReply!.Code);
        Assert.True(connection.IsUsable);

        var second = await connection.SendAsync(new Envelope(string.Empty, ["b@example.com"]), Content("x"), CancellationToken.None);
        Assert.Equal("250 queued", second.Recipients[0].Reply!.ToString());
        Assert.Equal(1, connection.MessagesSent);

        Assert.False(peerSupportsUtf8);
        var refused = await connection.SendAsync(new Envelope(string.Empty, ["ü@example.com"]), Content("x"), CancellationToken.None);
        Assert.Equal("553 5.6.7 The next hop does not support SMTPUTF8; non-ASCII addresses not permitted for that recipient", refused.Recipients[0].Reply!.ToString());
        Assert.True(refused.Recipients[0].Permanent);
        Assert.Null(refused.MailReply); // nothing was sent
        await connection.QuitAsync();
    }

    [Fact]
    public async Task Smtputf8_required_but_not_offered_refuses_every_recipient_without_a_transaction()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync("PIPELINING", "8BITMIME");
            await s.AnswerAsync("QUIT", "221 bye");
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options());

        var result = await connection.SendAsync(ThreeRecipients with { RequiresSmtpUtf8 = true }, Content("x"), CancellationToken.None);

        Assert.All(result.Recipients, r => Assert.Equal((553, "5.6.7", true), (r.Reply!.Code, r.Reply.Enhanced, r.Permanent)));
        Assert.Null(result.MailReply);
        Assert.True(connection.IsUsable);
        await connection.QuitAsync();
        Assert.DoesNotContain(peer.Transcript, l => l.StartsWith("C: MAIL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_mail_refusal_is_every_recipients_reply()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync();
            await s.AnswerAsync("MAIL FROM:<sender@example.org>", "553 5.7.1 sender rejected");
            await s.AnswerAsync("QUIT", "221 bye");
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options());

        var result = await connection.SendAsync(ThreeRecipients, Content("x"), CancellationToken.None);

        Assert.All(result.Recipients, r => Assert.Equal("553 5.7.1 sender rejected", r.Reply!.ToString()));
        Assert.All(result.Recipients, r => Assert.Null(r.RcptReply));
        await connection.QuitAsync();
    }

    [Fact]
    public async Task A_421_in_the_middle_answers_every_recipient_not_answered_yet()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync();
            await s.AnswerAsync("MAIL FROM:<sender@example.org>", "250 OK");
            await s.AnswerAsync("RCPT TO:<a@example.com>", "550 5.1.1 unknown");
            await s.AnswerAsync("RCPT TO:<b@example.com>", "421 4.4.5 too many connections, closing");
            await s.WaitForCloseAsync();
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options());

        var result = await connection.SendAsync(ThreeRecipients, Content("x"), CancellationToken.None);

        Assert.Equal(["550 5.1.1 unknown", "421 4.4.5 too many connections, closing", "421 4.4.5 too many connections, closing"], result.Recipients.Select(r => r.Reply!.ToString()));
        Assert.Equal(OutboundFailureKind.ConnectionLost, result.Failure!.Kind);
        Assert.False(connection.IsUsable);
    }

    [Fact]
    public async Task A_connection_dropped_during_data_fails_the_accepted_recipients_only()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync("PIPELINING");
            for (var i = 0; i < 5; i++)
            {
                await s.ReadLineAsync();
            }

            await s.SayAsync("250 OK", "250 OK", "550 5.1.1 unknown", "250 OK", "354 go");
            await s.ReadAtLeastAsync(1000);
            s.Reset();
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options());
        var big = new MemoryStream(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 200_000))));

        var result = await connection.SendAsync(ThreeRecipients, big, CancellationToken.None);

        Assert.Equal(OutboundFailureKind.ConnectionLost, result.Failure!.Kind);
        Assert.Equal([OutboundFailureKind.ConnectionLost, null, OutboundFailureKind.ConnectionLost], result.Recipients.Select(r => r.Failure?.Kind));
        Assert.Equal("550 5.1.1 unknown", result.Recipients[1].Reply!.ToString());
        Assert.False(result.Recipients[0].Permanent);
        Assert.False(connection.IsUsable);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.SendAsync(ThreeRecipients, Content("x"), CancellationToken.None));
    }

    [Fact]
    public async Task A_peer_that_never_greets_times_out()
    {
        await using var peer = ScriptedPeer.Start(s => s.WaitForCloseAsync());

        var result = await OutboundConnection.ConnectAsync(peer.Endpoint, "peer.test", Options() with { GreetingTimeout = TimeSpan.FromMilliseconds(200) }, CancellationToken.None);

        Assert.Equal(OutboundFailureKind.Timeout, result.Failure!.Kind);
        Assert.Contains("greeting", result.Failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_peer_silent_after_the_dot_times_out_and_the_recipients_are_not_answered()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync();
            await s.AnswerAsync("MAIL FROM:<sender@example.org>", "250 OK");
            await s.AnswerAsync("RCPT TO:<a@example.com>", "250 OK");
            await s.AnswerAsync("DATA", "354 go");
            await s.ReadDataAsync();
            await s.WaitForCloseAsync();
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options() with { DataTerminationTimeout = TimeSpan.FromMilliseconds(200) });

        var result = await connection.SendAsync(new Envelope("sender@example.org", ["a@example.com"]), Content("x\r\n"), CancellationToken.None);

        Assert.Equal(OutboundFailureKind.Timeout, result.Recipients[0].Failure!.Kind);
        Assert.Null(result.Recipients[0].Reply);
        Assert.Equal(1, connection.MessagesSent);
        Assert.False(connection.IsUsable);
        await connection.DisposeAsync();
    }

    [Theory]
    [InlineData("HTTP/1.1 400 Bad Request\r\n")]
    [InlineData("220-first\r\n250 second\r\n")]
    [InlineData("2200 hi\r\n")]
    public async Task A_greeting_that_is_not_smtp_is_a_protocol_error(string raw)
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.SayRawAsync(raw);
            await s.WaitForCloseAsync();
        });

        var result = await OutboundConnection.ConnectAsync(peer.Endpoint, "peer.test", Options(), CancellationToken.None);

        Assert.Equal(OutboundFailureKind.ProtocolError, result.Failure!.Kind);
    }

    [Fact]
    public async Task A_malformed_rcpt_reply_fails_the_transaction()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync();
            await s.AnswerAsync("MAIL FROM:<sender@example.org>", "250 OK");
            await s.ExpectAsync("RCPT TO:<a@example.com>");
            await s.SayRawAsync("OK fine\r\n");
            await s.WaitForCloseAsync();
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options());

        var result = await connection.SendAsync(new Envelope("sender@example.org", ["a@example.com"]), Content("x"), CancellationToken.None);

        Assert.Equal(OutboundFailureKind.ProtocolError, result.Recipients[0].Failure!.Kind);
        Assert.Equal(250, result.MailReply!.Code);
        Assert.False(connection.IsUsable);
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task Required_tls_without_starttls_says_quit_and_fails()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync("PIPELINING");
            await s.ExpectAsync("QUIT");
            await s.WaitForCloseAsync();
        });

        var result = await OutboundConnection.ConnectAsync(peer.Endpoint, "peer.test", Options(OutboundTls.Required), CancellationToken.None);

        Assert.Equal(OutboundFailureKind.TlsRequired, result.Failure!.Kind);
    }

    [Fact]
    public async Task Auth_login_when_plain_is_not_offered_and_insecure_auth_is_allowed()
    {
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.HelloAsync("AUTH LOGIN");
            await s.AnswerAsync("AUTH LOGIN", "334 VXNlcm5hbWU6");
            await s.AnswerAsync(Convert.ToBase64String("app"u8), "334 UGFzc3dvcmQ6");
            await s.AnswerAsync(Convert.ToBase64String("secret"u8), "235 2.7.0 Authentication successful");
            await s.AnswerAsync("QUIT", "221 bye");
        });
        await using var connection = await ConnectAsync(peer.Endpoint, Options() with { Username = "app", Password = "secret", AllowInsecureAuth = true });
        await connection.QuitAsync();
    }

    [Fact]
    public async Task Caller_cancellation_is_an_exception_not_a_failure()
    {
        using var cancel = new CancellationTokenSource();
        await using var peer = ScriptedPeer.Start(async s =>
        {
            await s.SayAsync("220 peer.test");
            await s.ExpectAsync("EHLO client.test");
            await cancel.CancelAsync(); // the delivery stage is shutting down while the peer thinks
            await s.WaitForCloseAsync();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => OutboundConnection.ConnectAsync(peer.Endpoint, "peer.test", Options(), cancel.Token));
    }

    [Fact]
    public async Task Nothing_listening_is_a_connect_failure()
    {
        var endpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1);

        var result = await OutboundConnection.ConnectAsync(endpoint, "nowhere.test", Options(), CancellationToken.None);

        Assert.Equal(OutboundFailureKind.ConnectFailed, result.Failure!.Kind);
        Assert.False(result.Failure.Permanent);
    }
}
