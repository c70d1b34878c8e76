using Beacon.Links;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Links;

/// <summary>A keyring in a temporary directory on a fake clock, and sample links.</summary>
internal sealed class LinkKit : IDisposable
{
    public static readonly DateTimeOffset Start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public LinkKit()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("beacon-links-").FullName;
        Time = new FakeTimeProvider(Start);
        Keyring = Keyring.LoadOrCreate(Keyring.DefaultPath(Directory), Time);
        Codec = new LinkCodec(Keyring);
    }

    public string Directory { get; }

    public string KeyringPath => Keyring.Path;

    public FakeTimeProvider Time { get; }

    public Keyring Keyring { get; }

    public LinkCodec Codec { get; }

    public static TrackedLink Click(string target = "https://shop.example.com/sale?utm_source=email&utm_campaign=spring", string? metadata = null) => new()
    {
        Kind = LinkKind.Click,
        MessageId = "0000632c8b54d53f0a00",
        TransmissionId = "65832146450776065",
        CustomerId = "1",
        Recipient = "jane.doe@example.com",
        CampaignId = "spring-sale-2025",
        Tags = ["newsletter", "spring"],
        Metadata = metadata ?? """{"user_id":"12345","plan":"premium"}""",
        Target = target,
        LinkName = "hero_banner",
        ExpiresAt = Start.AddDays(365).ToUnixTimeSeconds(),
        NodeName = "mta1",
    };

    public static TrackedLink Open(LinkKind kind = LinkKind.Open) => Click() with { Kind = kind, Target = null, LinkName = null };

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>Keeps what was logged, for asserting on warnings.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public List<(LogLevel Level, string Message)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Add((logLevel, formatter(state, exception)));
}
