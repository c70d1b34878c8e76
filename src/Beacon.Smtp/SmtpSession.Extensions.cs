namespace Beacon.Smtp;

/// <summary>The service extensions with state of their own: CHUNKING (RFC 3030), STARTTLS (RFC 3207), XSETCONTEXT.</summary>
public sealed partial class SmtpSession
{
    private SmtpStep StartTls(string argument)
    {
        if (argument.Length > 0)
        {
            return Fail(new SmtpReply(501, "5.5.4", "Syntax: STARTTLS"));
        }

        if (IsTls)
        {
            return Fail(new SmtpReply(503, "5.5.1", "TLS already active"));
        }

        if (!_options.TlsAvailable)
        {
            return Fail(new SmtpReply(502, "5.5.1", "STARTTLS not available"));
        }

        if (!Extended)
        {
            return Fail(new SmtpReply(503, "5.5.1", "Send EHLO first"));
        }

        return new SmtpStep(new SmtpReply(220, "2.0.0", "Ready to start TLS"), SessionEffect.StartTls);
    }

    private SmtpStep Bdat(string argument)
    {
        if (!_options.Chunking)
        {
            return Fail(new SmtpReply(500, "5.5.1", "Command unrecognized"));
        }

        if (!TryParseBdat(argument, out var size, out var last))
        {
            // The chunk's length is unknown, so the byte stream can't be followed any more.
            return Fail(new SmtpReply(501, "5.5.4", "Syntax: BDAT chunk-size [LAST]")) with { Effect = SessionEffect.Close };
        }

        return new SmtpStep(null, SessionEffect.ReceiveChunk, size, last);
    }

    /// <summary>bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF; chunk-size = 1*DIGIT; end-marker = "LAST" (RFC 3030 §2).</summary>
    private static bool TryParseBdat(string argument, out long size, out bool last)
    {
        last = false;
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2 || !long.TryParse(parts[0], System.Globalization.NumberStyles.None, null, out size))
        {
            size = 0;
            return false;
        }

        if (parts.Length == 2)
        {
            if (!parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            last = true;
        }

        return true;
    }

    /// <summary>
    /// XSETCONTEXT name=value *(SP name=value) (Momentum, spec §F6.5): sets connection context variables; values
    /// are xtext (RFC 3461 §4: "+" HEXDIG HEXDIG stands for one octet). Only where the host allows it.
    /// </summary>
    private SmtpStep XSetContext(string argument)
    {
        if (!_options.XSetContext)
        {
            return Fail(new SmtpReply(500, "5.5.1", "Command unrecognized"));
        }

        var values = new List<(string, string)>();
        foreach (var pair in argument.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            if (equals <= 0 || !Xtext.TryDecode(pair[(equals + 1)..], out var value))
            {
                return Fail(new SmtpReply(501, "5.5.4", "Syntax: XSETCONTEXT name=value ..."));
            }

            values.Add((pair[..equals], value));
        }

        if (values.Count == 0)
        {
            return Fail(new SmtpReply(501, "5.5.4", "Syntax: XSETCONTEXT name=value ..."));
        }

        foreach (var (name, value) in values)
        {
            ConnectionContext[name] = value;
        }

        return Ok(new SmtpReply(250, "2.0.0", "Context set"));
    }
}
