using System.Diagnostics.Metrics;
using System.Globalization;

namespace Beacon.Ingress;

/// <summary>The SMTP listeners' instruments, on meter "Beacon.Smtp" (exported at GET /metrics, docs/metrics.md).
/// Every series is labelled by listener name only (a configured, bounded set), never by peer or address.</summary>
public sealed class SmtpMetrics : IDisposable
{
    public const string MeterName = "Beacon.Smtp";

    private readonly UpDownCounter<long> _open;
    private readonly Counter<long> _connections;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _recipients;
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _bytes;

    public SmtpMetrics()
    {
        _open = Meter.CreateUpDownCounter<long>("beacon.smtp.connections.open", "{connection}",
            "SMTP connections open now, per listener. High (near limits.max_connections) means clients hold connections or injection is faster than Beacon accepts; at the limit new clients get 421.");
        _connections = Meter.CreateCounter<long>("beacon.smtp.connections", "{connection}",
            "SMTP connections accepted, per listener (including those answered 421 at the limit). A high rate with few messages means clients do not reuse connections.");
        _messages = Meter.CreateCounter<long>("beacon.smtp.messages.accepted", "{message}",
            "Messages accepted (250 after DATA/BDAT, durably spooled), per listener. This is the injection rate; a drop means clients stopped sending or are being refused.");
        _recipients = Meter.CreateCounter<long>("beacon.smtp.recipients.accepted", "{recipient}",
            "Recipients of accepted messages, per listener: one injection event each. High relative to messages means large recipient lists.");
        _rejections = Meter.CreateCounter<long>("beacon.smtp.rejections", "{reply}",
            "4xx and 5xx replies sent to SMTP clients, per listener, reply class (4xx, 5xx) and code. A high rate means clients are refused: policy, relay denied, limits, timeouts or shutdown.");
        _bytes = Meter.CreateCounter<long>("beacon.smtp.received", "By",
            "Octets of accepted messages as spooled (content after dot-unstuffing plus Beacon's Received header), per listener. High means heavy injection traffic and spool writes.");
    }

    public Meter Meter { get; } = new(MeterName);

    internal void Opened(string listener)
    {
        var tag = Tag(listener);
        _connections.Add(1, tag);
        _open.Add(1, tag);
    }

    internal void Closed(string listener) => _open.Add(-1, Tag(listener));

    internal void Accepted(string listener, int recipients, long bytes)
    {
        var tag = Tag(listener);
        _messages.Add(1, tag);
        _recipients.Add(recipients, tag);
        _bytes.Add(bytes, tag);
    }

    internal void Replied(string listener, int code)
    {
        if (code >= 400)
        {
            _rejections.Add(1, Tag(listener), new("class", code >= 500 ? "5xx" : "4xx"), new("code", code.ToString(CultureInfo.InvariantCulture)));
        }
    }

    public void Dispose() => Meter.Dispose();

    private static KeyValuePair<string, object?> Tag(string listener) => new("listener", listener);
}
