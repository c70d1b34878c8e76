using System.Buffers;
using System.Text;

namespace Beacon.Smtp;

/// <summary>
/// The pure SMTP server session (RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES,
/// CHUNKING, STARTTLS and AUTH): a line goes in, a reply and an effect come out. It never touches a socket or
/// the clock, so every behaviour is testable as a transcript. The host performs the effects (TLS, reading
/// message content, spooling) and reports back through <see cref="TlsEstablished"/>, <see cref="ChunkReceived"/>
/// and <see cref="MessageCompleted"/>.
/// </summary>
public sealed partial class SmtpSession
{
    private readonly SmtpSessionOptions _options;
    private readonly bool _relayPermittedForPeer;
    private readonly Func<string, string, AuthenticatedUser?> _authenticate;
    private readonly string _peerAddress;
    private readonly ISmtpSessionHooks? _hooks;
    private SmtpAuthExchange? _auth;
    private int _errors;

    /// <param name="options">What the listener offers.</param>
    /// <param name="peerAddress">The client's IP address, for the EHLO greeting.</param>
    /// <param name="relayPermittedForPeer">The peer is inside the listener's relay CIDRs.</param>
    /// <param name="authenticate">Checks a user name and password; null means the credentials are invalid.</param>
    /// <param name="hooks">Policy decisions per command, if any.</param>
    public SmtpSession(SmtpSessionOptions options, string peerAddress, bool relayPermittedForPeer, Func<string, string, AuthenticatedUser?> authenticate, ISmtpSessionHooks? hooks = null)
    {
        _hooks = hooks;
        _options = options;
        _peerAddress = peerAddress;
        _relayPermittedForPeer = relayPermittedForPeer;
        _authenticate = authenticate;
    }

    public SmtpState State { get; private set; } = SmtpState.Connected;

    public SmtpSessionOptions Options => _options;

    public string? HeloName { get; private set; }

    public bool Extended { get; private set; }

    public bool IsTls { get; private set; }

    public AuthenticatedUser? User { get; private set; }

    public SmtpTransaction? Transaction { get; private set; }

    public string PeerAddress => _peerAddress;

    /// <summary>Connection context variables (Momentum's ECMESS_CTX_CONN): mo_customer_id from AUTH, XSETCONTEXT values, policy.</summary>
    public Dictionary<string, string> ConnectionContext { get; } = new(StringComparer.Ordinal);

    /// <summary>The RFC 3848 / RFC 6531 "with" protocol name for the Received header.</summary>
    public string ProtocolName =>
        !Extended ? "SMTP"
        : (Transaction?.SmtpUtf8 == true ? "UTF8SMTP" : "ESMTP") + (IsTls ? "S" : string.Empty) + (User is null ? string.Empty : "A");

    public SmtpReply Greeting() => new(220, null, $"{_options.HostName} ESMTP Beacon");

    /// <summary>The start of the session: the greeting, or the refusal of a validate_connect policy (then close).</summary>
    public SmtpStep Open()
    {
        if (_hooks?.Connect(this) is { } refusal)
        {
            State = SmtpState.Closed;
            return new SmtpStep(refusal, SessionEffect.Close);
        }

        return new SmtpStep(Greeting());
    }

    /// <summary>The reply to a client whose connection the server refuses or ends (limits, shutdown).</summary>
    public static SmtpReply ServiceUnavailable(string text) => new(421, "4.3.2", text);

    public SmtpStep Execute(in ReadOnlySequence<byte> line)
    {
        if (State == SmtpState.Auth)
        {
            return ContinueAuth(line.IsSingleSegment ? line.FirstSpan : line.ToArray());
        }

        if (!SmtpCommand.TryParse(line, out var command, out var rejection))
        {
            return Fail(rejection switch
            {
                CommandRejection.UnknownCommand => new SmtpReply(500, "5.5.1", "Command unrecognized"),
                _ => new SmtpReply(500, "5.5.2", "Invalid characters in command"),
            });
        }

        if (!IsAllowed(State, command.Verb, out var sequenceError))
        {
            // A refused BDAT still carries its chunk: read and drop it to stay in step with the client.
            var refused = Fail(sequenceError);
            return command.Verb == SmtpVerb.Bdat && refused.Effect == SessionEffect.None && TryParseBdat(command.Argument, out var size, out _)
                ? refused with { Effect = SessionEffect.DiscardChunk, ChunkSize = size }
                : refused;
        }

        return command.Verb switch
        {
            SmtpVerb.Helo or SmtpVerb.Ehlo => Hello(command),
            SmtpVerb.Mail => Mail(command.Argument),
            SmtpVerb.Rcpt => Rcpt(command.Argument),
            SmtpVerb.Data => Data(command.Argument),
            SmtpVerb.Bdat => Bdat(command.Argument),
            SmtpVerb.Rset => Reset(command.Argument),
            SmtpVerb.Noop => Ok(new SmtpReply(250, "2.0.0", "OK")),
            SmtpVerb.Quit => Quit(),
            SmtpVerb.Vrfy => command.Argument.Length == 0
                ? Fail(new SmtpReply(501, "5.5.4", "Syntax: VRFY address"))
                : Ok(new SmtpReply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")),
            SmtpVerb.Expn => Fail(new SmtpReply(502, "5.5.1", "EXPN not supported")),
            SmtpVerb.Help => Ok(new SmtpReply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH" + (_options.XSetContext ? " XSETCONTEXT" : string.Empty))),
            SmtpVerb.StartTls => StartTls(command.Argument),
            SmtpVerb.Auth => Auth(command.Argument),
            SmtpVerb.XSetContext => XSetContext(command.Argument),
            _ => Fail(new SmtpReply(500, "5.5.1", "Command unrecognized")),
        };
    }

    public SmtpStep Execute(ReadOnlySpan<byte> line) => Execute(new ReadOnlySequence<byte>(line.ToArray()));

    /// <summary>The client sent a line longer than the listener's limit (RFC 5321 §4.5.3.1.4).</summary>
    public SmtpStep LineTooLong()
    {
        if (State == SmtpState.Auth)
        {
            _auth = null;
            State = Transaction is null ? SmtpState.Ready : State;
        }

        return Fail(new SmtpReply(500, "5.5.2", "Line too long"));
    }

    /// <summary>TLS is up: forget everything learned in clear text (RFC 3207 §4.2).</summary>
    public void TlsEstablished()
    {
        IsTls = true;
        HeloName = null;
        Extended = false;
        User = null;
        Transaction = null;
        State = SmtpState.Connected;
    }

    /// <summary>A non-LAST BDAT chunk was stored.</summary>
    public SmtpReply ChunkReceived(long size)
    {
        State = SmtpState.Chunking;
        return new SmtpReply(250, "2.0.0", $"{size} octets received");
    }

    /// <summary>
    /// The message content ended (DATA's dot line or the LAST chunk) and the host decided: 250 once spooled, or a
    /// refusal (size, policy, storage). Either way the transaction is over (RFC 5321 §4.1.1.4).
    /// </summary>
    public SmtpStep MessageCompleted(SmtpReply reply)
    {
        Transaction = null;
        State = SmtpState.Ready;
        return reply.IsPositive ? Ok(reply) : Fail(reply);
    }

    /// <summary>The content outgrew the listener's message size limit.</summary>
    public SmtpReply MessageTooBig() => new(552, "5.3.4", "Message size exceeds fixed maximum message size");

    /// <summary>
    /// The transition table: which commands each state accepts. Anything else is a bad sequence
    /// (503 5.5.1), except DATA/BDAT after MAIL with no accepted recipient, which is 554 5.5.1.
    /// </summary>
    private static bool IsAllowed(SmtpState state, SmtpVerb verb, out SmtpReply error)
    {
        error = new SmtpReply(503, "5.5.1", "Bad sequence of commands");
        var allowed = (state, verb) switch
        {
            (_, SmtpVerb.Quit or SmtpVerb.Noop or SmtpVerb.Rset or SmtpVerb.Help or SmtpVerb.Vrfy or SmtpVerb.Expn) => true,
            (SmtpState.Chunking, SmtpVerb.Bdat) => true,
            (SmtpState.Chunking, _) => false,
            (_, SmtpVerb.Helo or SmtpVerb.Ehlo) => true,
            (SmtpState.Connected, SmtpVerb.StartTls) => true,
            (SmtpState.Ready or SmtpState.Mail or SmtpState.Rcpt, SmtpVerb.XSetContext) => true,
            (SmtpState.Connected, _) => false,
            (SmtpState.Ready, SmtpVerb.Mail or SmtpVerb.StartTls or SmtpVerb.Auth) => true,
            (SmtpState.Mail or SmtpState.Rcpt, SmtpVerb.Rcpt) => true,
            (SmtpState.Rcpt, SmtpVerb.Data or SmtpVerb.Bdat) => true,
            _ => false,
        };

        if (!allowed)
        {
            error = (state, verb) switch
            {
                (SmtpState.Connected, _) => new SmtpReply(503, "5.5.1", "Send HELO/EHLO first"),
                (SmtpState.Mail, SmtpVerb.Data or SmtpVerb.Bdat) => new SmtpReply(554, "5.5.1", "No valid recipients"),
                (SmtpState.Mail or SmtpState.Rcpt, SmtpVerb.Mail) => new SmtpReply(503, "5.5.1", "Nested MAIL command"),
                (SmtpState.Ready, SmtpVerb.Rcpt or SmtpVerb.Data or SmtpVerb.Bdat) => new SmtpReply(503, "5.5.1", "Need MAIL command"),
                _ => error,
            };
        }

        return allowed;
    }

    private SmtpStep Hello(SmtpCommand command)
    {
        if (command.Argument.Length == 0 || command.Argument.Contains(' '))
        {
            return Fail(new SmtpReply(501, "5.5.4", $"Syntax: {(command.Verb == SmtpVerb.Ehlo ? "EHLO" : "HELO")} hostname"));
        }

        if (_hooks?.Ehlo(this, command.Argument) is { } refusal)
        {
            return Fail(refusal);
        }

        HeloName = command.Argument;
        Extended = command.Verb == SmtpVerb.Ehlo;
        Transaction = null;
        State = SmtpState.Ready;
        if (!Extended)
        {
            return Ok(new SmtpReply(250, null, _options.HostName));
        }

        var lines = new List<string> { $"{_options.HostName} Hello {HeloName} [{_peerAddress}]" };
        if (_options.Pipelining)
        {
            lines.Add("PIPELINING");
        }

        lines.Add($"SIZE {_options.MaxMessageSize}");
        if (_options.EightBitMime)
        {
            lines.Add("8BITMIME");
        }

        if (_options.SmtpUtf8)
        {
            lines.Add("SMTPUTF8");
        }

        lines.Add("ENHANCEDSTATUSCODES");
        if (_options.Chunking)
        {
            lines.Add("CHUNKING");
        }

        if (_options.TlsAvailable && !IsTls)
        {
            lines.Add("STARTTLS");
        }

        if (AuthOffered)
        {
            lines.Add("AUTH PLAIN LOGIN");
        }

        if (_options.XSetContext)
        {
            lines.Add("XSETCONTEXT");
        }

        return Ok(new SmtpReply(250, null, lines));
    }

    private SmtpStep Quit()
    {
        State = SmtpState.Closed;
        return new SmtpStep(new SmtpReply(221, "2.0.0", "Bye"), SessionEffect.Close);
    }

    private SmtpStep Mail(string argument)
    {
        var result = MailPath.TryParse(argument, "FROM:", allowNull: true, allowPostmaster: false, out var path);
        if (result != PathParseResult.Ok)
        {
            return Fail(result == PathParseResult.TooLong
                ? new SmtpReply(501, "5.1.7", "Sender address too long")
                : new SmtpReply(501, "5.5.4", "Syntax: MAIL FROM:<address>"));
        }

        var bodyType = BodyType.SevenBit;
        var smtpUtf8 = false;
        long? size = null;
        foreach (var (key, value) in path!.Parameters)
        {
            switch (key.ToUpperInvariant())
            {
                case "SIZE":
                    if (value is null || !long.TryParse(value, System.Globalization.NumberStyles.None, null, out var declared))
                    {
                        return Fail(new SmtpReply(501, "5.5.4", "Syntax: SIZE=<number>"));
                    }

                    if (declared > _options.MaxMessageSize)
                    {
                        return Fail(MessageTooBig());
                    }

                    size = declared;
                    break;
                case "BODY" when value is not null && value.Equals("7BIT", StringComparison.OrdinalIgnoreCase):
                    bodyType = BodyType.SevenBit;
                    break;
                case "BODY" when _options.EightBitMime && value is not null && value.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase):
                    bodyType = BodyType.EightBitMime;
                    break;
                case "SMTPUTF8" when _options.SmtpUtf8 && value is null:
                    smtpUtf8 = true;
                    break;
                case "AUTH" when value is not null:
                    break; // RFC 4954 §5: accepted; Beacon does not relay the original submitter.
                default:
                    return Fail(new SmtpReply(555, "5.5.4", $"Unsupported option: {key}"));
            }
        }

        if (path.Mailbox is { IsInternational: true } && !smtpUtf8)
        {
            return Fail(new SmtpReply(553, "5.6.7", "Non-ASCII sender address requires SMTPUTF8"));
        }

        // The hook sees the transaction it may refuse (its sender and its fresh message context).
        Transaction = new SmtpTransaction(path, bodyType, smtpUtf8, size);
        if (_hooks?.MailFrom(this, path) is { } refusal)
        {
            Transaction = null;
            return Fail(refusal);
        }

        State = SmtpState.Mail;
        return Ok(new SmtpReply(250, "2.1.0", "Sender OK"));
    }

    private SmtpStep Rcpt(string argument)
    {
        var transaction = Transaction!;
        var result = MailPath.TryParse(argument, "TO:", allowNull: false, allowPostmaster: true, out var path);
        if (result != PathParseResult.Ok)
        {
            return Fail(result == PathParseResult.TooLong
                ? new SmtpReply(501, "5.1.3", "Recipient address too long")
                : new SmtpReply(501, "5.5.4", "Syntax: RCPT TO:<address>"));
        }

        if (path!.Parameters.Count > 0)
        {
            return Fail(new SmtpReply(555, "5.5.4", $"Unsupported option: {path.Parameters.Keys.First()}"));
        }

        if (path.Mailbox is { IsInternational: true } && !transaction.SmtpUtf8)
        {
            return Fail(new SmtpReply(553, "5.6.7", "Non-ASCII recipient address requires SMTPUTF8")) with { RefusedRecipient = path };
        }

        if (User is null && !_relayPermittedForPeer)
        {
            return Fail(new SmtpReply(550, "5.7.1", "Relaying denied")) with { RefusedRecipient = path };
        }

        if (transaction.Recipients.Count >= _options.MaxRecipients)
        {
            return Fail(new SmtpReply(452, "4.5.3", "Too many recipients")) with { RefusedRecipient = path };
        }

        if (_hooks?.RcptTo(this, path) is { } refusal)
        {
            return Fail(refusal) with { RefusedRecipient = path };
        }

        transaction.AddRecipient(path);
        State = SmtpState.Rcpt;
        return Ok(new SmtpReply(250, "2.1.5", "Recipient OK"));
    }

    private SmtpStep Data(string argument)
    {
        if (argument.Length > 0)
        {
            return Fail(new SmtpReply(501, "5.5.4", "Syntax: DATA"));
        }

        return new SmtpStep(new SmtpReply(354, null, "End data with <CR><LF>.<CR><LF>"), SessionEffect.ReceiveData);
    }

    private SmtpStep Reset(string argument)
    {
        if (argument.Length > 0)
        {
            return Fail(new SmtpReply(501, "5.5.4", "Syntax: RSET"));
        }

        Transaction = null;
        if (State != SmtpState.Connected)
        {
            State = SmtpState.Ready;
        }

        return Ok(new SmtpReply(250, "2.0.0", "OK"));
    }

    private static SmtpStep Ok(SmtpReply reply) => new(reply);

    /// <summary>Every negative reply counts; past the limit the client is dropped (Postfix's smtpd_hard_error_limit).</summary>
    private SmtpStep Fail(SmtpReply reply)
    {
        if (++_errors > _options.MaxErrors)
        {
            State = SmtpState.Closed;
            return new SmtpStep(new SmtpReply(421, "4.7.0", "Too many errors, closing connection"), SessionEffect.Close);
        }

        return new SmtpStep(reply);
    }
}
