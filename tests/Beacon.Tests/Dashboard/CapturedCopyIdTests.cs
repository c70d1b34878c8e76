using Beacon.Dashboard;

namespace Beacon.Tests.Dashboard;

/// <summary>The only names of captured copies the dashboard turns into paths.</summary>
public sealed class CapturedCopyIdTests
{
    [Theory]
    [InlineData("32bd1646be5bce000000", "0", 0)]
    [InlineData("32bd1646be5bce000000", "7", 7)]
    [InlineData("ffffffffffffffffffff", "999999", 999_999)]
    public void A_message_id_and_an_index_parse(string messageId, string recipient, int index)
    {
        Assert.True(CapturedCopyId.TryParse(messageId, recipient, out var id));
        Assert.Equal(new CapturedCopyId(messageId, index), id);
        Assert.Equal($"{messageId}/{index}", id.ToString());
    }

    [Theory]
    [InlineData(null, "0")]
    [InlineData("", "0")]
    [InlineData("..", "0")]
    [InlineData("../../../etc/passwd", "0")]
    [InlineData("..%2F..%2Fkeys", "0")]
    [InlineData("32BD1646BE5BCE000000", "0")] // upper case: not what MessageIdGenerator writes
    [InlineData("32bd1646be5bce00000", "0")] // 19 digits
    [InlineData("32bd1646be5bce0000000", "0")] // 21
    [InlineData("32bd1646be5bce00000g", "0")]
    [InlineData("32bd1646be5bce00000/", "0")]
    [InlineData("32bd1646be5bce00000\\", "0")]
    [InlineData("32bd1646be5bce000000", null)]
    [InlineData("32bd1646be5bce000000", "")]
    [InlineData("32bd1646be5bce000000", "01")]
    [InlineData("32bd1646be5bce000000", "-1")]
    [InlineData("32bd1646be5bce000000", "+1")]
    [InlineData("32bd1646be5bce000000", " 1")]
    [InlineData("32bd1646be5bce000000", "1e3")]
    [InlineData("32bd1646be5bce000000", "0x1")]
    [InlineData("32bd1646be5bce000000", "1000000")]
    [InlineData("32bd1646be5bce000000", "١")] // an Arabic-Indic digit: a digit to char.IsDigit, not to the parser
    [InlineData("32bd1646be5bce000000", "../0")]
    public void Anything_else_is_refused(string? messageId, string? recipient)
    {
        Assert.False(CapturedCopyId.TryParse(messageId, recipient, out var id));
        Assert.Equal(default, id);
    }
}
