using Beacon.Policy;
using Beacon.Smtp;

namespace Beacon.Ingress;

/// <summary>Runs the command-time policy hooks (validate_connect … validate_rcptto) for one session.</summary>
internal sealed class PolicyHooks(IPolicy policy) : ISmtpSessionHooks
{
    public SmtpReply? Connect(SmtpSession session) => Run(PolicyPhase.Connect, session, null);

    public SmtpReply? Ehlo(SmtpSession session, string name) => Run(PolicyPhase.Ehlo, session, name);

    public SmtpReply? MailFrom(SmtpSession session, MailPath sender) => Run(PolicyPhase.MailFrom, session, sender.Address);

    public SmtpReply? RcptTo(SmtpSession session, MailPath recipient) => Run(PolicyPhase.RcptTo, session, recipient.Address, recipient.Address);

    private SmtpReply? Run(PolicyPhase phase, SmtpSession session, string? argument, string? rcptTo = null)
    {
        if (!policy.Handles(phase))
        {
            return null;
        }

        var message = session.Transaction?.Context ?? new Dictionary<string, string>(StringComparer.Ordinal);
        var verdict = policy.Run(phase, new PolicyMessage
        {
            Connection = session.ConnectionContext,
            Message = message,
            Argument = argument,
            MailFrom = session.Transaction?.MailFrom.Address,
            RcptTo = rcptTo,
            RemoteIp = session.PeerAddress,
        });
        return verdict.Refusal;
    }
}
