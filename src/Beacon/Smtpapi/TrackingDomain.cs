using System.Globalization;

namespace Beacon.Smtpapi;

/// <summary>A tracking domain is an authority: host or host:port (spec §F3.5), never a URL.</summary>
public static class TrackingDomain
{
    public static bool IsValid(string value)
    {
        var colon = value.LastIndexOf(':');
        var host = colon < 0 ? value : value[..colon];
        if (colon >= 0 && !(int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536))
        {
            return false;
        }

        return host.Length is > 0 and <= 253 && Smtp.Mailbox.IsDomain(host);
    }
}
