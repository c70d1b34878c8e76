using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Beacon.EndToEnd.Tests;

/// <summary>MailKit's SmtpClient as the application: STARTTLS, AUTH, SMTPUTF8.</summary>
public sealed class MailKitTests
{
    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task Authenticated_message_over_starttls_is_spooled_with_the_users_customer_id(string mechanism)
    {
        await using var beacon = await BeaconInstance.StartAsync(TlsWithUser);
        using var transcript = new MemoryStream();
        using var client = NewClient(transcript);

        await client.ConnectAsync("127.0.0.1", beacon.Smtp.Port, SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        await client.AuthenticateAsync(mechanism == "PLAIN" ? new SaslMechanismPlain("app", "secret") : new SaslMechanismLogin("app", "secret"));
        var reply = await client.SendAsync(NewMessage("rcpt@example.com"));
        await client.DisconnectAsync(quit: true);

        Assert.Matches(@"^2\.0\.0 OK [0-9a-f]{20}$", reply);
        Assert.Contains("S: 235 2.7.0 Authentication successful", Transcript(transcript));
        var message = Assert.Single(beacon.Queue);
        Assert.Equal("app", message.AuthUser);
        Assert.Equal("rcpt@example.com", Assert.Single(message.Recipients).Address);
        Assert.Contains("with ESMTPSA id " + message.MessageId, System.Text.Encoding.UTF8.GetString(beacon.Body(message.MessageId)));
        var injection = Assert.Single(await beacon.WaitForEventsAsync("injection"));
        Assert.Equal("42", (string?)injection["customer_id"]);
        Assert.Equal(message.MessageId, (string?)injection["message_id"]);
        Assert.Equal("rcpt@example.com", (string?)injection["rcpt_to"]);
    }

    [Fact]
    public async Task Wrong_password_gets_535_and_the_session_stays_usable()
    {
        await using var beacon = await BeaconInstance.StartAsync(TlsWithUser);
        using var transcript = new MemoryStream();
        using var client = NewClient(transcript);
        await client.ConnectAsync("127.0.0.1", beacon.Smtp.Port, SecureSocketOptions.StartTls);

        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismPlain("app", "wrong")));
        await client.AuthenticateAsync(new SaslMechanismPlain("app", "secret"));

        var lines = Transcript(transcript);
        Assert.Contains("S: 535 5.7.8 Authentication credentials invalid", lines);
        Assert.Contains("S: 235 2.7.0 Authentication successful", lines);
    }

    [Fact]
    public async Task Auth_before_starttls_is_refused_with_538_and_not_advertised()
    {
        await using var beacon = await BeaconInstance.StartAsync(TlsWithUser);
        await using var client = await TestSmtpClient.ConnectAsync(beacon.Smtp);

        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.Contains("STARTTLS", ehlo.Texts);
        Assert.DoesNotContain(ehlo.Texts, t => t.StartsWith("AUTH", StringComparison.Ordinal));
        var auth = await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0app\0secret")));
        Assert.Equal("538 5.7.11 Encryption required for requested authentication mechanism", auth.ToString());
    }

    [Fact]
    public async Task Allow_insecure_auth_offers_and_accepts_auth_in_clear_text()
    {
        await using var beacon = await BeaconInstance.StartAsync(o =>
        {
            BeaconInstance.AddUser(o);
            BeaconInstance.Listener(o).Auth.AllowInsecureAuth = true;
        });
        using var client = NewClient(new MemoryStream());

        await client.ConnectAsync("127.0.0.1", beacon.Smtp.Port, SecureSocketOptions.None);
        Assert.False(client.IsSecure);
        Assert.Contains("PLAIN", client.AuthenticationMechanisms);
        await client.AuthenticateAsync("app", "secret");
        await client.SendAsync(NewMessage("rcpt@example.com"));
        await client.DisconnectAsync(quit: true);

        Assert.Equal("app", Assert.Single(beacon.Queue).AuthUser);
        Assert.Equal("42", (string?)Assert.Single(await beacon.WaitForEventsAsync("injection"))["customer_id"]);
    }

    [Fact]
    public async Task Internationalized_recipient_is_accepted_with_smtputf8_and_stored_as_given()
    {
        await using var beacon = await BeaconInstance.StartAsync();
        using var transcript = new MemoryStream();
        using var client = NewClient(transcript);

        await client.ConnectAsync("127.0.0.1", beacon.Smtp.Port, SecureSocketOptions.None);
        await client.SendAsync(NewMessage("用户@例子.example"));
        await client.DisconnectAsync(quit: true);

        Assert.Contains("C: RCPT TO:<用户@例子.example>", Transcript(transcript));
        var message = Assert.Single(beacon.Queue);
        Assert.True(message.SmtpUtf8);
        Assert.Equal("用户@例子.example", Assert.Single(message.Recipients).Address);
        Assert.Equal("用户@例子.example", (string?)Assert.Single(await beacon.WaitForEventsAsync("injection"))["raw_rcpt_to"]);
    }

    private static void TlsWithUser(Beacon.Config.BeaconOptions options)
    {
        BeaconInstance.Listener(options).Tls = "self-signed";
        BeaconInstance.AddUser(options);
    }

    private static SmtpClient NewClient(Stream transcript) => new(new ProtocolLogger(transcript, leaveOpen: true))
    {
        ServerCertificateValidationCallback = (_, _, _, _) => true, // Beacon's self-signed certificate
        CheckCertificateRevocation = false,
        Timeout = 30_000, // generous: CI shares 2 cores between parallel test classes and real servers
    };

    private static MimeMessage NewMessage(string to)
    {
        var message = new MimeMessage { Subject = "hello" };
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(new MailboxAddress(string.Empty, to));
        message.Body = new TextPart("plain") { Text = "Hello from MailKit." };
        return message;
    }

    private static string[] Transcript(MemoryStream transcript) =>
        Encoding.UTF8.GetString(transcript.ToArray()).Split("\r\n");
}
