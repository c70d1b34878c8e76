using System.Buffers;
using System.Text;
using Beacon.Smtp;

namespace Beacon.Delivery;

/// <summary>The mail transaction (RFC 5321 §3.3): MAIL, RCPT for each recipient, DATA, the content, ".".</summary>
internal sealed partial class OutboundConnection
{
    /// <summary>Content is read and flushed in blocks of this size; only one block is in memory at a time.</summary>
    private const int ContentBlock = 64 * 1024;

    /// <summary>
    /// Sends one message. With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go in one write and the replies are
    /// read in order; otherwise one command per round trip. Every recipient gets a result: the MAIL refusal, its
    /// RCPT refusal, or — when its RCPT was accepted — the reply to the content (or to DATA when DATA was refused).
    /// </summary>
    /// <param name="content">The message exactly as it must arrive, read once from its current position; it is
    /// dot-stuffed on the way (bare CR or LF become CRLF, see <see cref="DotStuffer"/>).</param>
    /// <exception cref="InvalidOperationException">The connection is not usable (check <see cref="IsUsable"/>).</exception>
    /// <exception cref="ArgumentException">No recipients, or an address with CR, LF or NUL.</exception>
    public async Task<TransactionResult> SendAsync(Envelope envelope, Stream content, CancellationToken ct)
    {
        if (!IsUsable)
        {
            throw new InvalidOperationException("The connection is not usable for a new transaction.");
        }

        var recipients = envelope.Recipients;
        if (recipients.Count == 0)
        {
            throw new ArgumentException("A transaction needs at least one recipient.", nameof(envelope));
        }

        if (recipients.Append(envelope.MailFrom).Any(a => a.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0))
        {
            throw new ArgumentException("An address contains CR, LF or NUL.", nameof(envelope));
        }

        var smtpUtf8 = envelope.RequiresSmtpUtf8 || !Ascii.IsValid(envelope.MailFrom) || recipients.Any(r => !Ascii.IsValid(r));
        if (smtpUtf8 && !Capabilities.SmtpUtf8)
        {
            // RFC 6531 §3.4: the message can't be relayed without SMTPUTF8; the code for the bounce is 5.6.7.
            return Refused(recipients, new SmtpReply(553, "5.6.7", "The next hop does not support SMTPUTF8; non-ASCII addresses not permitted for that recipient"));
        }

        if (envelope.EightBitMime && !Capabilities.EightBitMime && _options.Strict8BitMime)
        {
            // RFC 6152 §3 and RFC 3463 §3.7: conversion required but not supported.
            return Refused(recipients, new SmtpReply(554, "5.6.3", "The next hop does not support 8BITMIME; conversion required but not supported"));
        }

        var state = new TransactionState(recipients.Count);
        using var timer = new OperationTimer(_options.Time, ct);
        try
        {
            if (Capabilities.Pipelining)
            {
                await PipelinedAsync(envelope, MailCommand(envelope, smtpUtf8), state, timer).ConfigureAwait(false);
            }
            else
            {
                await StepwiseAsync(envelope, MailCommand(envelope, smtpUtf8), state, timer).ConfigureAwait(false);
            }

            if (state.Accepted > 0 && state.Mail?.Code is >= 200 and < 300 && state.DataStart?.Code == 354)
            {
                state.Data = await SendContentAsync(content, timer, ct).ConfigureAwait(false);
            }
            else if (state.Mail?.Code is >= 200 and < 300)
            {
                // MAIL opened a transaction that DATA never closed: RSET clears it (RFC 5321 §4.1.1.5).
                var reset = await CommandAsync(timer, "RSET", "RSET").ConfigureAwait(false);
                IsUsable = reset.Code == 250;
            }
        }
        catch (FailedException e)
        {
            IsUsable = false;
            state.Failure = e.Failure;
        }
        catch
        {
            // Caller cancellation or a failing content stream: the session is somewhere mid-transaction.
            IsUsable = false;
            throw;
        }

        return state.Result(recipients);
    }

    /// <summary>RFC 2920 §3.1: MAIL, RCPTs and DATA in one group (the last command of a group may be DATA).</summary>
    private async Task PipelinedAsync(Envelope envelope, string mail, TransactionState state, OperationTimer timer)
    {
        WriteCommand(mail);
        foreach (var recipient in envelope.Recipients)
        {
            WriteCommand($"RCPT TO:<{recipient}>");
        }

        WriteCommand("DATA");
        await FlushAsync(timer, _options.CommandTimeout, "MAIL, RCPT and DATA").ConfigureAwait(false);

        state.Mail = Closing(await ReadReplyAsync(timer, _options.CommandTimeout, "MAIL").ConfigureAwait(false));
        for (var i = 0; i < envelope.Recipients.Count; i++)
        {
            state.Rcpt(i, Closing(await ReadReplyAsync(timer, _options.CommandTimeout, "RCPT").ConfigureAwait(false)));
        }

        state.DataStart = Closing(await ReadReplyAsync(timer, _options.CommandTimeout, "DATA").ConfigureAwait(false));
        if (state.DataStart.Code == 354 && state.Accepted == 0)
        {
            // RFC 5321 §3.3 lets the server refuse DATA without valid recipients, and RFC 2920 expects it to; this
            // one said 354. End the empty message at once: the server has nobody to deliver it to.
            WriteCommand(".");
            await FlushAsync(timer, _options.CommandTimeout, "the end of data").ConfigureAwait(false);
            state.Data = Closing(await ReadReplyAsync(timer, _options.DataTerminationTimeout, "the end of data").ConfigureAwait(false));
        }
        else if (state.DataStart.Code != 354)
        {
            state.Data = state.DataStart;
        }
    }

    /// <summary>One command per round trip, stopping as soon as the outcome is known.</summary>
    private async Task StepwiseAsync(Envelope envelope, string mail, TransactionState state, OperationTimer timer)
    {
        state.Mail = Closing(await CommandAsync(timer, mail, "MAIL").ConfigureAwait(false));
        if (state.Mail.Code is < 200 or >= 300)
        {
            return;
        }

        for (var i = 0; i < envelope.Recipients.Count; i++)
        {
            state.Rcpt(i, Closing(await CommandAsync(timer, $"RCPT TO:<{envelope.Recipients[i]}>", "RCPT").ConfigureAwait(false)));
        }

        if (state.Accepted > 0)
        {
            state.DataStart = Closing(await CommandAsync(timer, "DATA", "DATA").ConfigureAwait(false));
            if (state.DataStart.Code != 354)
            {
                state.Data = state.DataStart;
            }
        }
    }

    /// <summary>The content, dot-stuffed, in blocks; then the reply to the final ".".</summary>
    private async Task<SmtpReply> SendContentAsync(Stream content, OperationTimer timer, CancellationToken ct)
    {
        var stuffer = new DotStuffer();
        var block = ArrayPool<byte>.Shared.Rent(ContentBlock);
        try
        {
            int read;
            while ((read = await content.ReadAsync(block.AsMemory(0, ContentBlock), ct).ConfigureAwait(false)) > 0)
            {
                stuffer.Write(block.AsSpan(0, read), _output);
                await FlushAsync(timer, _options.DataTimeout, "message content").ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }

        stuffer.Complete(_output);
        await FlushAsync(timer, _options.DataTimeout, "the end of data").ConfigureAwait(false);
        MessagesSent++;
        return Closing(await ReadReplyAsync(timer, _options.DataTerminationTimeout, "the end of data").ConfigureAwait(false));
    }

    /// <summary>
    /// A 421 means the server is closing the session (RFC 5321 §3.8): stop there. The recipients not answered yet
    /// get the 421 itself, the server's word, rather than the connection loss that follows it.
    /// </summary>
    private SmtpReply Closing(SmtpReply reply)
    {
        if (reply.Code == 421)
        {
            IsUsable = false;
            throw new FailedException(OutboundFailure.Of(OutboundFailureKind.ConnectionLost, reply, "the peer is closing the session"));
        }

        return reply;
    }

    /// <summary>
    /// MAIL FROM:&lt;reverse-path&gt; with SIZE= (RFC 1870 §6), BODY=8BITMIME (RFC 6152 §2) and SMTPUTF8
    /// (RFC 6531 §3.4) when the peer announced them and the message needs them.
    /// </summary>
    private string MailCommand(Envelope envelope, bool smtpUtf8)
    {
        var command = new StringBuilder("MAIL FROM:<").Append(envelope.MailFrom).Append('>');
        if (envelope.Size is { } size && Capabilities.Size)
        {
            command.Append(" SIZE=").Append(size);
        }

        if (envelope.EightBitMime && Capabilities.EightBitMime)
        {
            command.Append(" BODY=8BITMIME");
        }

        if (smtpUtf8)
        {
            command.Append(" SMTPUTF8");
        }

        return command.ToString();
    }

    private static TransactionResult Refused(IReadOnlyList<string> recipients, SmtpReply reply) =>
        new(null, [.. recipients.Select(r => new RecipientResult(r, null, reply, null))], null, null);

    /// <summary>The replies collected so far; whatever is missing at the end was lost with the connection.</summary>
    private sealed class TransactionState(int recipients)
    {
        private readonly SmtpReply?[] _rcpt = new SmtpReply?[recipients];

        public SmtpReply? Mail { get; set; }

        public SmtpReply? DataStart { get; set; }

        /// <summary>The reply that decides the accepted recipients: to DATA when it wasn't 354, else to the ".".</summary>
        public SmtpReply? Data { get; set; }

        public OutboundFailure? Failure { get; set; }

        public int Accepted { get; private set; }

        public void Rcpt(int index, SmtpReply reply)
        {
            _rcpt[index] = reply;
            if (reply.Code is >= 200 and < 300)
            {
                Accepted++;
            }
        }

        public TransactionResult Result(IReadOnlyList<string> recipients)
        {
            var results = new RecipientResult[recipients.Count];
            for (var i = 0; i < results.Length; i++)
            {
                var rcpt = _rcpt[i];
                var reply = Mail is { Code: < 200 or >= 300 } ? Mail
                    : rcpt is { Code: < 200 or >= 300 } ? rcpt
                    : rcpt is not null ? Data
                    : null;
                reply ??= Failure?.Reply;
                var failure = reply is null ? Failure ?? OutboundFailure.Of(OutboundFailureKind.ProtocolError, "no reply for this recipient") : null;
                results[i] = new RecipientResult(recipients[i], rcpt, reply, failure);
            }

            return new TransactionResult(Mail, results, Data, Failure);
        }
    }
}
