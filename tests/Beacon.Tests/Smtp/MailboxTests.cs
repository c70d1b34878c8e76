using Beacon.Smtp;

namespace Beacon.Tests.Smtp;

public sealed class MailboxTests
{
    [Theory]
    [InlineData("user@example.com")]
    [InlineData("first.last+tag@sub.example.co")]
    [InlineData("!#$%&'*+-/=?^_`{|}~@example.com")]
    [InlineData("\"with space\"@example.com")]
    [InlineData("\"escaped \\\" quote\"@example.com")]
    [InlineData("user@[192.0.2.1]")]
    [InlineData("user@[IPv6:2001:db8::1]")]
    [InlineData("用户@例子.example")]
    public void Accepts_rfc5321_and_rfc6531_mailboxes(string address) =>
        Assert.True(Mailbox.TryParse(address, out _), address);

    [Theory]
    [InlineData("no-at-sign")]
    [InlineData("@example.com")]
    [InlineData("user@")]
    [InlineData(".user@example.com")]
    [InlineData("user.@example.com")]
    [InlineData("us..er@example.com")]
    [InlineData("user@exa_mple.com")]
    [InlineData("user@-example.com")]
    [InlineData("user@example..com")]
    [InlineData("user@[300.1.1.1]")]
    [InlineData("user@[1.2.3]")]
    [InlineData("\"unterminated@example.com")]
    [InlineData("a b@example.com")]
    public void Refuses_malformed_mailboxes(string address) =>
        Assert.False(Mailbox.TryParse(address, out _), address);

    [Fact]
    public void Enforces_the_rfc5321_length_limits()
    {
        Assert.True(Mailbox.TryParse(new string('a', 64) + "@example.com", out _));
        Assert.False(Mailbox.TryParse(new string('a', 65) + "@example.com", out _));
        Assert.Equal(PathParseResult.TooLong, MailPath.TryParse($"FROM:<{new string('a', 60)}@{string.Join('.', Enumerable.Repeat(new string('b', 60), 4))}>", "FROM:", true, false, out _));
    }

    [Fact]
    public void Parses_esmtp_parameters_and_refuses_duplicates()
    {
        Assert.Equal(PathParseResult.Ok, MailPath.TryParse("FROM:<a@b.example> SIZE=10 BODY=8BITMIME SMTPUTF8", "FROM:", true, false, out var path));
        Assert.Equal("10", path!.Parameters["size"]);
        Assert.Null(path.Parameters["SMTPUTF8"]);
        Assert.Equal(PathParseResult.Syntax, MailPath.TryParse("FROM:<a@b.example> SIZE=1 SIZE=2", "FROM:", true, false, out _));
        Assert.Equal(PathParseResult.Syntax, MailPath.TryParse("FROM:<a@b.example>SIZE=1", "FROM:", true, false, out _));
    }
}
