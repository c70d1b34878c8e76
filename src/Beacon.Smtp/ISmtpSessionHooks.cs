namespace Beacon.Smtp;

/// <summary>
/// Decisions the host makes at each command (the policy hooks of Momentum: validate_connect, validate_ehlo,
/// validate_mailfrom, validate_rcptto). Each returns null to go on, or the reply that refuses the command.
/// </summary>
public interface ISmtpSessionHooks
{
    SmtpReply? Connect(SmtpSession session);

    SmtpReply? Ehlo(SmtpSession session, string name);

    SmtpReply? MailFrom(SmtpSession session, MailPath sender);

    SmtpReply? RcptTo(SmtpSession session, MailPath recipient);
}
