using Beacon.Ingress;
using Beacon.Smtp;

namespace Beacon.Policy;

/// <summary>Momentum's validation hooks, in the order a transaction meets them (spec §F2.2, §F6.4).</summary>
public enum PolicyPhase
{
    Connect,
    Ehlo,
    MailFrom,
    RcptTo,
    Data,
    DataSpool,
    DataSpoolEachRcpt,
}

/// <summary>What a hook sees and may change: both context tables, the header fields (data phases) and the envelope.</summary>
public sealed class PolicyMessage
{
    public required Dictionary<string, string> Connection { get; init; }

    public required Dictionary<string, string> Message { get; init; }

    /// <summary>The header fields in order (data phases only); a hook may replace the list.</summary>
    public List<HeaderField>? Headers { get; set; }

    public bool HeadersChanged { get; set; }

    public string? MailFrom { get; init; }

    /// <summary>The current recipient (RCPT and per-recipient phases).</summary>
    public string? RcptTo { get; init; }

    /// <summary>The command argument the hook receives as its string parameter (EHLO name, MAIL or RCPT address).</summary>
    public string? Argument { get; init; }

    public string? RemoteIp { get; init; }
}

/// <summary>A hook's outcome: go on, refuse with the script's reply, or fail (an error or an exhausted budget → 451 4.3.0).</summary>
public abstract record PolicyVerdict
{
    public static readonly PolicyVerdict Continue = new ContinueVerdict();

    public static readonly SmtpReply FailureReply = new(451, "4.3.0", "Policy failure, try again later");

    public sealed record ContinueVerdict : PolicyVerdict;

    public sealed record Reject(SmtpReply Reply) : PolicyVerdict;

    public sealed record Failed(string Reason) : PolicyVerdict;

    /// <summary>The reply to send, or null to go on.</summary>
    public SmtpReply? Refusal => this switch
    {
        Reject r => r.Reply,
        Failed => FailureReply,
        _ => null,
    };
}

/// <summary>The policy engine as the mail path sees it.</summary>
public interface IPolicy
{
    /// <summary>Whether any loaded script implements the hook (lets the mail path skip work).</summary>
    bool Handles(PolicyPhase phase);

    PolicyVerdict Run(PolicyPhase phase, PolicyMessage message);
}
