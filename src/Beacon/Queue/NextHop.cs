using System.Globalization;

namespace Beacon.Queue;

/// <summary>A host name or IP address with a port, as written in the configuration: "relay.example.net:587",
/// "192.0.2.1:25", "[2001:db8::1]:25".</summary>
public sealed record NextHop(string Host, int Port)
{
    public static bool TryParse(string? text, out NextHop? hop)
    {
        hop = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535)
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
            if (!System.Net.IPAddress.TryParse(host, out _))
            {
                return false;
            }
        }
        else if (host.Contains(':') || !(Smtp.Mailbox.IsDomain(host) || System.Net.IPAddress.TryParse(host, out _)))
        {
            return false;
        }

        hop = new NextHop(host, port);
        return true;
    }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
