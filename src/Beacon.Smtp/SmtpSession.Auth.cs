using System.Text;

namespace Beacon.Smtp;

/// <summary>AUTH PLAIN and LOGIN (RFC 4954, RFC 4616): the exchange, its replies and where it may happen.</summary>
public sealed partial class SmtpSession
{
    private bool AuthOffered => _options.AuthAvailable && (IsTls || _options.AllowInsecureAuth);

    private SmtpStep Auth(string argument)
    {
        if (!_options.AuthAvailable)
        {
            return Fail(new SmtpReply(502, "5.5.1", "AUTH not available"));
        }

        if (!Extended)
        {
            return Fail(new SmtpReply(503, "5.5.1", "Send EHLO first"));
        }

        if (!AuthOffered)
        {
            return Fail(new SmtpReply(538, "5.7.11", "Encryption required for requested authentication mechanism"));
        }

        if (User is not null)
        {
            return Fail(new SmtpReply(503, "5.5.1", "Already authenticated"));
        }

        var space = argument.IndexOf(' ');
        var mechanism = space < 0 ? argument : argument[..space];
        var initial = space < 0 ? null : argument[(space + 1)..];
        _auth = SmtpAuthExchange.Start(mechanism);
        if (_auth is null)
        {
            return Fail(new SmtpReply(504, "5.5.4", "Unrecognized authentication type"));
        }

        if (initial is null)
        {
            State = SmtpState.Auth;
            return Ok(_auth.NextChallenge());
        }

        return AuthResponse(Encoding.UTF8.GetBytes(initial), initialResponse: true);
    }

    private SmtpStep ContinueAuth(ReadOnlySpan<byte> line) => AuthResponse(line, initialResponse: false);

    private SmtpStep AuthResponse(ReadOnlySpan<byte> line, bool initialResponse)
    {
        var exchange = _auth!;
        State = SmtpState.Ready;
        if (line.SequenceEqual("*"u8))
        {
            _auth = null;
            return Fail(new SmtpReply(501, "5.7.0", "Authentication cancelled"));
        }

        // RFC 4954 §4: "=" is an empty initial response.
        if (!SmtpAuthExchange.TryDecode(initialResponse && line.SequenceEqual("="u8) ? [] : line, out var decoded))
        {
            _auth = null;
            return Fail(new SmtpReply(501, "5.5.2", "Cannot decode response"));
        }

        if (!exchange.Accept(decoded))
        {
            _auth = null;
            return Fail(new SmtpReply(501, "5.5.2", "Malformed authentication response"));
        }

        if (!exchange.Complete)
        {
            State = SmtpState.Auth;
            return Ok(exchange.NextChallenge());
        }

        _auth = null;
        User = _authenticate(exchange.Username!, exchange.Password!);
        if (User?.CustomerId is { } customer)
        {
            ConnectionContext["mo_customer_id"] = customer;
        }

        return User is null
            ? Fail(new SmtpReply(535, "5.7.8", "Authentication credentials invalid"))
            : Ok(new SmtpReply(235, "2.7.0", "Authentication successful"));
    }
}
