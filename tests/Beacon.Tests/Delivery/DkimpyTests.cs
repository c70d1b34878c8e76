using System.Diagnostics;
using Beacon.Delivery;

namespace Beacon.Tests.Delivery;

/// <summary>
/// A second, independent verifier: Debian's python3-dkim (dkimpy), fed the public key record through its
/// <c>dnsfunc</c> hook instead of DNS. The whole corpus is verified in one python process per algorithm.
/// </summary>
public sealed class DkimpyTests
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import sys, os, dkim
        record = sys.argv[1].encode()
        failed = []
        for name in sorted(os.listdir(sys.argv[2])):
            with open(os.path.join(sys.argv[2], name), 'rb') as f:
                try:
                    if not dkim.verify(f.read(), dnsfunc=lambda *args, **kwargs: record):
                        failed.append(name)
                except dkim.MessageFormatError:
                    failed.append('unparsed:' + name[4:])
        print(' '.join(failed))
        """;

    [Theory]
    [InlineData("rsa-sha256", "relaxed")]
    [InlineData("rsa-sha256", "simple")]
    [InlineData("ed25519-sha256", "relaxed")]
    public void Every_signed_corpus_message_verifies_in_dkimpy(string algorithm, string canonicalization)
    {
        Assert.True(File.Exists(Python), "python3-dkim is needed: apt-get install -y python3-dkim");
        using var keys = new DkimTestKeys.Files();
        string directory = Path.Combine(keys.Directory, $"dkimpy-{algorithm}-{canonicalization}");
        Directory.CreateDirectory(directory);
        string? record = null;
        int count = 0;
        foreach (object[] row in DkimCorpusTests.Cases().Where(row => (string)row[1] == algorithm && (string)row[2] == canonicalization))
        {
            (byte[] message, string domain) = DkimCorpusTests.Prepare((string)row[0]);
            using DkimSigning signing = DkimSigning.Load([keys.Key(domain, algorithm, canonicalization)]);
            record ??= signing.Keys.Single().DnsRecord;
            File.WriteAllBytes(Path.Combine(directory, $"{count++:D3}-{Path.GetFileName((string)row[0])}"), [.. signing.Sign(message)!, .. message]);
        }

        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { "-c", Script, record!, directory })
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(count > 40, $"only {count} messages");
        // dkimpy refuses a header block with a line that is not a field; so does any receiver worth the name.
        Assert.Equal("unparsed:erroneous.raw unparsed:qp-utf8-header-no-break.raw", output.Trim() + error.Trim());
    }
}
