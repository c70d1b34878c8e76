using System.Text;
using Beacon.Smtp;

namespace Beacon.Tests.Smtp;

/// <summary>
/// Drives a <see cref="SmtpSession"/> from a transcript: "C: line" is sent, each "S: text" must match the next
/// reply line by prefix. Effects are checked by the caller through <see cref="LastStep"/>.
/// </summary>
internal sealed class Transcript
{
    private readonly Queue<string> _pending = new();

    public Transcript(SmtpSessionOptions? options = null, bool relay = true, Func<string, string, AuthenticatedUser?>? authenticate = null)
    {
        Session = new SmtpSession(options ?? new SmtpSessionOptions { HostName = "mx.test" }, "192.0.2.1", relay, authenticate ?? ((_, _) => null));
        Enqueue(Session.Greeting());
    }

    public SmtpSession Session { get; }

    public SmtpStep LastStep { get; private set; }

    public Transcript Run(string transcript)
    {
        foreach (var raw in transcript.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("C: ", StringComparison.Ordinal))
            {
                Assert.True(_pending.Count == 0, $"unread reply before '{line}': {string.Join(" | ", _pending)}");
                Send(line[3..]);
            }
            else if (line.StartsWith("S: ", StringComparison.Ordinal))
            {
                Assert.True(_pending.Count > 0, $"expected '{line[3..]}' but no reply is pending");
                var actual = _pending.Dequeue();
                Assert.True(actual.StartsWith(line[3..], StringComparison.Ordinal), $"expected '{line[3..]}', got '{actual}'");
            }
            else if (line.Trim().Length > 0)
            {
                throw new ArgumentException($"transcript line must start with C: or S: — '{line}'");
            }
        }

        Assert.True(_pending.Count == 0, $"unexpected reply: {string.Join(" | ", _pending)}");
        return this;
    }

    public SmtpStep Send(string line)
    {
        LastStep = Session.Execute(Encoding.UTF8.GetBytes(line));
        if (LastStep.Reply is { } reply)
        {
            Enqueue(reply);
        }

        return LastStep;
    }

    /// <summary>Forgets replies not worth spelling out (a long EHLO list).</summary>
    public void Clear() => _pending.Clear();

    public void Enqueue(SmtpReply reply)
    {
        foreach (var line in reply.ToString().Split("\r\n"))
        {
            _pending.Enqueue(line);
        }
    }
}
