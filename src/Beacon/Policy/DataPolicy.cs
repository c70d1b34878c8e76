using Beacon.Ingress;
using Beacon.Smtp;

namespace Beacon.Policy;

/// <summary>The outcome of the data phases: a refusal, or each recipient's message context.</summary>
public sealed record DataPolicyOutcome(SmtpReply? Refusal, IReadOnlyList<Dictionary<string, string>> RecipientContexts);

/// <summary>
/// Runs validate_data, validate_data_spool and validate_data_spool_each_rcpt (once per recipient, with that
/// recipient current) at the end of DATA. Each recipient starts from a copy of the message context, so what a
/// per-recipient hook sets applies to that recipient only (spec §F5, "per recipient when set in
/// validate_data_spool_each_rcpt"); connection context changes persist for the connection. There is one body,
/// so header changes apply to the message as a whole. Any refusal refuses the whole transaction (spec §F2.5).
/// </summary>
public static class DataPolicy
{
    public static DataPolicyOutcome Run(IPolicy policy, SmtpSession session, MessageHeaders headers)
    {
        var transaction = session.Transaction!;
        foreach (var phase in new[] { PolicyPhase.Data, PolicyPhase.DataSpool })
        {
            if (Run(policy, phase, session, headers, transaction.Context, null) is { } refusal)
            {
                return new DataPolicyOutcome(refusal, []);
            }
        }

        var contexts = new List<Dictionary<string, string>>(transaction.Recipients.Count);
        foreach (var recipient in transaction.Recipients)
        {
            var context = new Dictionary<string, string>(transaction.Context, StringComparer.Ordinal);
            if (Run(policy, PolicyPhase.DataSpoolEachRcpt, session, headers, context, recipient.Address) is { } refusal)
            {
                return new DataPolicyOutcome(refusal, []);
            }

            contexts.Add(context);
        }

        return new DataPolicyOutcome(null, contexts);
    }

    private static SmtpReply? Run(IPolicy policy, PolicyPhase phase, SmtpSession session, MessageHeaders headers, Dictionary<string, string> context, string? recipient)
    {
        if (!policy.Handles(phase))
        {
            return null;
        }

        var message = new PolicyMessage
        {
            Connection = session.ConnectionContext,
            Message = context,
            Headers = headers.Fields,
            MailFrom = session.Transaction!.MailFrom.Address,
            RcptTo = recipient,
            RemoteIp = session.PeerAddress,
        };
        var verdict = policy.Run(phase, message);
        if (message.HeadersChanged && message.Headers is { } changed && !ReferenceEquals(changed, headers.Fields))
        {
            headers.Fields.Clear();
            headers.Fields.AddRange(changed);
            headers.Changed = true;
        }

        return verdict.Refusal;
    }
}
