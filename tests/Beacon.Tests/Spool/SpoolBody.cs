using Beacon.Spool;

namespace Beacon.Tests.Spool;

internal static class SpoolBody
{
    /// <summary>A spooled body as delivery reads it, checked to be the metadata's size.</summary>
    public static byte[] Read(SpoolStore spool, SpooledMessage message)
    {
        using var body = spool.OpenBody(message);
        Assert.Equal(message.Size, body.Length);
        using var copy = new MemoryStream();
        body.CopyTo(copy);
        return copy.ToArray();
    }
}
