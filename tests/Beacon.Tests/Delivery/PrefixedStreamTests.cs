using System.Text;
using Beacon.Delivery;

namespace Beacon.Tests.Delivery;

public sealed class PrefixedStreamTests
{
    [Fact]
    public async Task Reads_the_prefix_then_the_inner_stream_and_seeks_back_to_the_start()
    {
        using var stream = new PrefixedStream("DKIM-Signature: x\r\n"u8.ToArray(), new MemoryStream("From: a@b.example\r\n\r\nbody\r\n"u8.ToArray()));
        Assert.Equal(19 + 27, stream.Length);
        var first = new StreamReader(stream, Encoding.ASCII, false, 4).ReadToEnd();
        Assert.Equal("DKIM-Signature: x\r\nFrom: a@b.example\r\n\r\nbody\r\n", first);

        stream.Position = 0;
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy, 5);
        Assert.Equal(first, Encoding.ASCII.GetString(copy.ToArray()));
        Assert.Equal(stream.Length, stream.Position);
    }
}
