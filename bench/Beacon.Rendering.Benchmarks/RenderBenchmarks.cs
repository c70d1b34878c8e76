using System.Text;
using Beacon.Rendering;
using BenchmarkDotNet.Attributes;
using MimeKit;

namespace Beacon.Rendering.Benchmarks;

/// <summary>
/// One recipient's copy of a 50 KB quoted-printable newsletter with 40 links, and of a 1 MB message, beside
/// MimeKit's plain parse-and-write of the same bytes (the ceiling: rendering should cost at most 2× that, and
/// allocate at most 2× the message size). Input and output are in memory so only the work is measured.
/// </summary>
[MemoryDiagnoser]
public class RenderBenchmarks
{
    private readonly MessageRenderer _renderer = new();
    private byte[] _message = [];
    private MemoryStream _output = new();
    private RenderOptions _options = new();
    private readonly RenderOptions _noTracking = new();

    [Params("newsletter-50KB-qp", "message-1MB")]
    public string Message { get; set; } = "newsletter-50KB-qp";

    public int MessageLength => _message.Length;

    [GlobalSetup]
    public void Setup()
    {
        _message = Message == "message-1MB" ? Messages.Build(links: 200, size: 1024 * 1024) : Messages.Build(links: 40, size: 50 * 1024);
        _output = new MemoryStream(_message.Length * 2);
        _options = new RenderOptions
        {
            OpenTracking = true,
            ClickTracking = true,
            TrackingDomain = "track.example",
            // A realistic sealed-link length (about 150 characters) without measuring the codec.
            ClickUrl = static target => "https://track.example/f/a1b2c3d4e5f6g7h8i9j0k1~~/AAAEAgA~/" + target.Url.Length.ToString("D4", System.Globalization.CultureInfo.InvariantCulture)
                + "RlpGfUmlmtX0H6DbxcxSSEHAh5Gc1ul8Yn2bDq7QkYpZ4D5n8v1wq2Ke3s9KXtDo0LzJrF6gHc",
            OpenUrl = static _ => "https://track.example/q/a1b2c3d4e5f6g7h8i9j0k1~~/AAAEAgA~/RlpGfUmlmtX0H6DbxcxSSEHAh5Gc1ul8Yn2bDq7QkYp",
        };
    }

    [Benchmark(Baseline = true, Description = "MimeKit parse + write")]
    public long MimeKitParseAndWrite()
    {
        _output.SetLength(0);
        using var input = new MemoryStream(_message, writable: false);
        MimeMessage message = MimeMessage.Load(input);
        message.WriteTo(_output);
        return _output.Length;
    }

    [Benchmark(Description = "Beacon render")]
    public long Render()
    {
        _output.SetLength(0);
        using var input = new MemoryStream(_message, writable: false);
        _renderer.Render(input, _output, _options);
        return _output.Length;
    }

    /// <summary>Parse, locate and copy only: the floor of the splicing design.</summary>
    public long RenderWithoutTracking()
    {
        _output.SetLength(0);
        using var input = new MemoryStream(_message, writable: false);
        _renderer.Render(input, _output, _noTracking);
        return _output.Length;
    }
}
