using Beacon.Smtp;

namespace Beacon.Tests.Smtp;

public sealed class SmtpSessionTests
{
    private const string Ehlo = """
        S: 220 mx.test ESMTP Beacon
        C: EHLO client.example
        S: 250-mx.test Hello client.example [192.0.2.1]
        S: 250-PIPELINING
        S: 250-SIZE 52428800
        S: 250-8BITMIME
        S: 250-SMTPUTF8
        S: 250-ENHANCEDSTATUSCODES
        S: 250 CHUNKING
        """;

    [Fact]
    public void Ehlo_advertises_the_extensions_and_a_transaction_reaches_data()
    {
        var t = new Transcript().Run(Ehlo + """

            C: MAIL FROM:<sender@example.org> SIZE=1000 BODY=8BITMIME
            S: 250 2.1.0 Sender OK
            C: RCPT TO:<one@example.com>
            S: 250 2.1.5 Recipient OK
            C: RCPT TO:<"quoted local"@[192.0.2.9]>
            S: 250 2.1.5 Recipient OK
            C: DATA now
            S: 501 5.5.4 Syntax: DATA
            C: DATA
            S: 354 End data with <CR><LF>.<CR><LF>
            """);

        Assert.Equal(SessionEffect.ReceiveData, t.LastStep.Effect);
        var transaction = t.Session.Transaction!;
        Assert.Equal(BodyType.EightBitMime, transaction.BodyType);
        Assert.Equal(["one@example.com", "\"quoted local\"@[192.0.2.9]"], transaction.Recipients.Select(r => r.Address));

        t.Enqueue(t.Session.MessageCompleted(new SmtpReply(250, "2.0.0", "OK 0123456789abcdef0123")).Reply!);
        t.Run("""
            S: 250 2.0.0 OK 0123456789abcdef0123
            C: MAIL FROM:<>
            S: 250 2.1.0 Sender OK
            """);
        Assert.Equal(string.Empty, t.Session.Transaction!.MailFrom.Address);
    }

    [Fact]
    public void Starttls_and_auth_are_offered_only_when_configured_and_auth_waits_for_tls()
    {
        var options = new SmtpSessionOptions { HostName = "mx.test", TlsAvailable = true, AuthAvailable = true };
        var t = new Transcript(options);
        t.Send("EHLO c");
        var ehlo = t.LastStep.Reply!.Lines;
        Assert.Contains("STARTTLS", ehlo);
        Assert.DoesNotContain("AUTH PLAIN LOGIN", ehlo);
        t = new Transcript(options).Run("""
            S: 220
            C: EHLO c
            S: 250-mx.test
            S: 250-PIPELINING
            S: 250-SIZE
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250 STARTTLS
            C: AUTH PLAIN AGFwcABzZWNyZXQ=
            S: 538 5.7.11 Encryption required for requested authentication mechanism
            C: STARTTLS
            S: 220 2.0.0 Ready to start TLS
            """);
        Assert.Equal(SessionEffect.StartTls, t.LastStep.Effect);

        t.Session.TlsEstablished();
        t.Send("EHLO c");
        Assert.Contains("AUTH PLAIN LOGIN", t.LastStep.Reply!.Lines);
        Assert.DoesNotContain("STARTTLS", t.LastStep.Reply!.Lines);
        Assert.Equal("ESMTPS", t.Session.ProtocolName);
    }

    [Fact]
    public void Starttls_state_is_reset_so_the_client_must_say_ehlo_again()
    {
        var t = new Transcript(new SmtpSessionOptions { HostName = "mx.test", TlsAvailable = true });
        t.Send("EHLO c");
        t.Send("STARTTLS");
        t.Session.TlsEstablished();
        Assert.Equal(SmtpState.Connected, t.Session.State);
        Assert.Equal("503 5.5.1 Send HELO/EHLO first", t.Send("MAIL FROM:<a@b.example>").Reply!.ToString());
        t.Send("EHLO c");
        Assert.Equal("503 5.5.1 TLS already active", t.Send("STARTTLS").Reply!.ToString());
    }

    [Fact]
    public void Auth_plain_and_login_with_and_without_initial_response()
    {
        AuthenticatedUser? Check(string user, string password) =>
            user == "app" && password == "secret" ? new AuthenticatedUser("app", "42") : null;
        var options = new SmtpSessionOptions { HostName = "mx.test", AuthAvailable = true, AllowInsecureAuth = true };

        var plain = new Transcript(options, relay: false, Check);
        plain.Send("EHLO c");
        Assert.Equal("235 2.7.0 Authentication successful", plain.Send("AUTH PLAIN AGFwcABzZWNyZXQ=").Reply!.ToString());
        Assert.Equal("42", plain.Session.User!.CustomerId);
        Assert.Equal("503 5.5.1 Already authenticated", plain.Send("AUTH PLAIN AGFwcABzZWNyZXQ=").Reply!.ToString());

        var login = new Transcript(options, relay: false, Check);
        login.Send("EHLO c");
        login.Clear();
        login.Run("""
            C: AUTH PLAIN
            S: 334 
            C: AGFwcAB3cm9uZw==
            S: 535 5.7.8 Authentication credentials invalid
            C: AUTH LOGIN
            S: 334 VXNlcm5hbWU6
            C: YXBw
            S: 334 UGFzc3dvcmQ6
            C: c2VjcmV0
            S: 235 2.7.0 Authentication successful
            """);

        new Transcript(options, relay: false, Check).Run("""
            S: 220
            C: EHLO c
            S: 250-mx.test
            S: 250-PIPELINING
            S: 250-SIZE
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250 AUTH PLAIN LOGIN
            C: AUTH LOGIN YXBw
            S: 334 UGFzc3dvcmQ6
            C: *
            S: 501 5.7.0 Authentication cancelled
            C: AUTH PLAIN not*base64
            S: 501 5.5.2 Cannot decode response
            C: AUTH CRAM-MD5
            S: 504 5.5.4 Unrecognized authentication type
            """);
    }

    [Fact]
    public void Relaying_is_denied_without_auth_or_a_trusted_peer_and_allowed_after_auth()
    {
        var t = new Transcript(new SmtpSessionOptions { HostName = "mx.test", AuthAvailable = true, AllowInsecureAuth = true }, relay: false, (_, _) => new AuthenticatedUser("app", null));
        t.Send("EHLO c");
        t.Send("MAIL FROM:<a@example.org>");
        var refused = t.Send("RCPT TO:<victim@example.net>");
        Assert.Equal("550 5.7.1 Relaying denied", refused.Reply!.ToString());
        Assert.Equal("victim@example.net", refused.RefusedRecipient!.Address);
        Assert.Equal("554 5.5.1 No valid recipients", t.Send("DATA").Reply!.ToString());

        t.Send("RSET");
        t.Send("AUTH PLAIN AGFwcABzZWNyZXQ=");
        t.Send("MAIL FROM:<a@example.org>");
        Assert.Equal("250 2.1.5 Recipient OK", t.Send("RCPT TO:<victim@example.net>").Reply!.ToString());
        Assert.Equal("ESMTPA", t.Session.ProtocolName);
    }

    [Theory]
    [InlineData("RCPT TO:<a@b.example>", "503 5.5.1 Need MAIL command")]
    [InlineData("DATA", "503 5.5.1 Need MAIL command")]
    [InlineData("FOO bar", "500 5.5.1 Command unrecognized")]
    [InlineData("MAIL FROM:<a@b.example> SIZE=99999999999", "552 5.3.4 Message size exceeds fixed maximum message size")]
    [InlineData("MAIL FROM:<a@b.example> RET=HDRS", "555 5.5.4 Unsupported option: RET")]
    [InlineData("MAIL FROM:<a@b.example> BODY=BINARYMIME", "555 5.5.4 Unsupported option: BODY")]
    [InlineData("MAIL FROM:<not an address>", "501 5.5.4 Syntax: MAIL FROM:<address>")]
    [InlineData("MAIL FROM:<a..b@example.org>", "501 5.5.4 Syntax: MAIL FROM:<address>")]
    [InlineData("MAIL FROM:<a@-bad-.example>", "501 5.5.4 Syntax: MAIL FROM:<address>")]
    [InlineData("MAIL FROM:<üser@example.org>", "553 5.6.7 Non-ASCII sender address requires SMTPUTF8")]
    [InlineData("MAIL TO:<a@b.example>", "501 5.5.4 Syntax: MAIL FROM:<address>")]
    [InlineData("EHLO", "501 5.5.4 Syntax: EHLO hostname")]
    [InlineData("VRFY postmaster", "252 2.5.0 Cannot VRFY user")]
    [InlineData("EXPN list", "502 5.5.1 EXPN not supported")]
    [InlineData("NOOP", "250 2.0.0 OK")]
    [InlineData("HELP", "214 2.0.0 Commands:")]
    [InlineData("RSET extra", "501 5.5.4 Syntax: RSET")]
    [InlineData("STARTTLS", "502 5.5.1 STARTTLS not available")]
    [InlineData("AUTH PLAIN", "502 5.5.1 AUTH not available")]
    public void Each_refusal_has_its_reply(string command, string reply)
    {
        var t = new Transcript();
        t.Send("EHLO c");
        Assert.StartsWith(reply, t.Send(command).Reply!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Mail_must_follow_helo_and_cannot_nest()
    {
        new Transcript().Run("""
            S: 220
            C: MAIL FROM:<a@b.example>
            S: 503 5.5.1 Send HELO/EHLO first
            C: HELO c
            S: 250 mx.test
            C: MAIL FROM:<a@b.example>
            S: 250 2.1.0
            C: MAIL FROM:<a@b.example>
            S: 503 5.5.1 Nested MAIL command
            C: DATA
            S: 554 5.5.1 No valid recipients
            """);
    }

    [Fact]
    public void Postfix_style_leniency_space_after_colon_no_brackets_source_route_postmaster()
    {
        var t = new Transcript();
        t.Send("EHLO c");
        Assert.Equal(250, t.Send("MAIL FROM: <a@b.example>").Reply!.Code);
        Assert.Equal(250, t.Send("RCPT TO:c@d.example").Reply!.Code);
        Assert.Equal(250, t.Send("RCPT TO:<@relay.example:e@f.example>").Reply!.Code);
        Assert.Equal(250, t.Send("RCPT TO:<Postmaster>").Reply!.Code);
        Assert.Equal(["c@d.example", "e@f.example", "Postmaster"], t.Session.Transaction!.Recipients.Select(r => r.Address));
    }

    [Fact]
    public void Smtputf8_allows_international_addresses()
    {
        var t = new Transcript();
        t.Send("EHLO c");
        Assert.Equal(250, t.Send("MAIL FROM:<отправитель@пример.example> SMTPUTF8").Reply!.Code);
        Assert.Equal(250, t.Send("RCPT TO:<用户@例子.example>").Reply!.Code);
        Assert.Equal("UTF8SMTP", t.Session.ProtocolName);
    }

    [Fact]
    public void Recipient_limit_gives_452_and_keeps_the_accepted_ones()
    {
        var t = new Transcript(new SmtpSessionOptions { MaxRecipients = 2 });
        t.Send("EHLO c");
        t.Send("MAIL FROM:<a@b.example>");
        t.Send("RCPT TO:<1@b.example>");
        t.Send("RCPT TO:<2@b.example>");
        var third = t.Send("RCPT TO:<3@b.example>");
        Assert.Equal("452 4.5.3 Too many recipients", third.Reply!.ToString());
        Assert.Equal(2, t.Session.Transaction!.Recipients.Count);
        Assert.Equal(SessionEffect.ReceiveData, t.Send("DATA").Effect);
    }

    [Fact]
    public void Too_many_errors_end_the_session_with_421()
    {
        var t = new Transcript(new SmtpSessionOptions { MaxErrors = 2 });
        Assert.Equal(500, t.Send("X").Reply!.Code);
        Assert.Equal(500, t.Send("Y").Reply!.Code);
        var last = t.Send("Z");
        Assert.Equal("421 4.7.0 Too many errors, closing connection", last.Reply!.ToString());
        Assert.Equal(SessionEffect.Close, last.Effect);
    }

    [Fact]
    public void Quit_closes()
    {
        var t = new Transcript();
        var step = t.Send("QUIT");
        Assert.Equal("221 2.0.0 Bye", step.Reply!.ToString());
        Assert.Equal(SessionEffect.Close, step.Effect);
    }

    [Fact]
    public void Line_too_long_is_500_5_5_2_and_the_session_goes_on()
    {
        var t = new Transcript();
        Assert.Equal("500 5.5.2 Line too long", t.Session.LineTooLong().Reply!.ToString());
        Assert.Equal(250, t.Send("EHLO c").Reply!.Code);
    }

    [Fact]
    public void Invalid_bytes_in_a_command_are_refused()
    {
        var t = new Transcript();
        Assert.Equal("500 5.5.2 Invalid characters in command", t.Session.Execute("EHLO \u0001x"u8).Reply!.ToString());
        Assert.Equal("500 5.5.2 Invalid characters in command", t.Session.Execute([(byte)'E', (byte)'H', (byte)'L', (byte)'O', (byte)' ', 0xC3, 0x28]).Reply!.ToString());
    }

    [Fact]
    public void Bdat_chunks_then_last_and_sequence_errors_still_consume_the_chunk()
    {
        var t = new Transcript();
        t.Send("EHLO c");
        var early = t.Send("BDAT 10");
        Assert.Equal(SessionEffect.DiscardChunk, early.Effect);
        Assert.Equal(10, early.ChunkSize);
        Assert.Equal("503 5.5.1 Need MAIL command", early.Reply!.ToString());

        t.Send("MAIL FROM:<a@b.example>");
        Assert.Equal("554 5.5.1 No valid recipients", t.Send("BDAT 5 LAST").Reply!.ToString());
        t.Send("RCPT TO:<c@d.example>");
        var first = t.Send("BDAT 100");
        Assert.Equal((SessionEffect.ReceiveChunk, 100L, false), (first.Effect, first.ChunkSize, first.LastChunk));
        Assert.Null(first.Reply);
        Assert.Equal("250 2.0.0 100 octets received", t.Session.ChunkReceived(100).ToString());
        Assert.Equal("503 5.5.1 Bad sequence of commands", t.Send("DATA").Reply!.ToString());
        var last = t.Send("BDAT 0 LAST");
        Assert.Equal((SessionEffect.ReceiveChunk, 0L, true), (last.Effect, last.ChunkSize, last.LastChunk));
    }

    [Fact]
    public void Bdat_with_a_bad_size_closes_because_the_stream_is_lost()
    {
        var t = new Transcript();
        t.Send("EHLO c");
        t.Send("MAIL FROM:<a@b.example>");
        t.Send("RCPT TO:<c@d.example>");
        var step = t.Send("BDAT ten");
        Assert.Equal("501 5.5.4 Syntax: BDAT chunk-size [LAST]", step.Reply!.ToString());
        Assert.Equal(SessionEffect.Close, step.Effect);
    }

    [Fact]
    public void Chunking_disabled_makes_bdat_unknown()
    {
        var t = new Transcript(new SmtpSessionOptions { Chunking = false });
        t.Send("EHLO c");
        Assert.DoesNotContain("CHUNKING", t.LastStep.Reply!.Lines);
        t.Send("MAIL FROM:<a@b.example>");
        t.Send("RCPT TO:<c@d.example>");
        Assert.Equal("500 5.5.1 Command unrecognized", t.Send("BDAT 1 LAST").Reply!.ToString());
    }

    [Fact]
    public void Helo_resets_a_transaction_and_rset_clears_it()
    {
        var t = new Transcript();
        t.Send("EHLO c");
        t.Send("MAIL FROM:<a@b.example>");
        t.Send("HELO c");
        Assert.Null(t.Session.Transaction);
        t.Send("MAIL FROM:<a@b.example>");
        t.Send("RSET");
        Assert.Equal(SmtpState.Ready, t.Session.State);
        Assert.Null(t.Session.Transaction);
    }
}
