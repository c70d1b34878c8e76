using Beacon.Delivery;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Delivery;

/// <summary>
/// Every message of the enmime corpus (TestData/enmime, CC0-1.0, see its ATTRIBUTION.md), signed for its own From
/// domain (or given a From when it has none) with both algorithms and both canonicalisations: the signature field
/// prepended to the unchanged bytes verifies in MimeKit, an implementation independent of ours.
/// </summary>
public sealed class DkimCorpusTests
{
    internal static readonly DateTimeOffset Now = new(2026, 11, 27, 3, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        string root = Path.Combine(AppContext.BaseDirectory, "TestData", "enmime");
        foreach (string file in Directory.GetFiles(root, "*.raw", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string name = Path.GetRelativePath(root, file);
            foreach (string algorithm in new[] { "rsa-sha256", "ed25519-sha256" })
            {
                data.Add(name, algorithm, "relaxed");
                data.Add(name, algorithm, "simple");
            }
        }

        return data;
    }

    /// <summary>The message as it will be signed: with a From field whose domain a key can match.</summary>
    internal static (byte[] Message, string Domain) Prepare(string name)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "enmime", name));
        string? domain = DkimSigning.FromDomain(input, HeaderField.Parse(input, out _));
        if (domain is not null && domain.Contains('.'))
            return (input, domain);
        return ([.. "From: Sender <sender@corpus.example>\r\n"u8, .. input], "corpus.example");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Signing_and_prepending_verifies_in_MimeKit(string name, string algorithm, string canonicalization)
    {
        using var keys = new DkimTestKeys.Files();
        (byte[] message, string domain) = Prepare(name);
        using DkimSigning signing = DkimSigning.Load([keys.Key(domain, algorithm, canonicalization)], time: new FakeTimeProvider(Now));
        byte[]? signature = signing.Sign(new MemoryStream(message));
        Assert.NotNull(signature);
        Assert.Equal(signature, signing.Sign(message));
        DkimTestKeys.AssertVerifies([.. signature, .. message], signing);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_changed_body_no_longer_verifies(string name, string algorithm, string canonicalization)
    {
        using var keys = new DkimTestKeys.Files();
        (byte[] message, string domain) = Prepare(name);
        using DkimSigning signing = DkimSigning.Load([keys.Key(domain, algorithm, canonicalization)], time: new FakeTimeProvider(Now));
        byte[] signature = signing.Sign(message)!;
        HeaderField.Parse(message, out int headerLength);
        // A message without an empty line has no body yet: the tampering adds one.
        byte[] tampered = headerLength == message.Length
            ? [.. signature, .. message, .. "\r\n\r\ntampered\r\n"u8]
            : [.. signature, .. message.AsSpan(0, headerLength), .. "tampered\r\n"u8, .. message.AsSpan(headerLength)];
        Assert.ThrowsAny<Exception>(() => DkimTestKeys.AssertVerifies(tampered, signing));
    }
}
