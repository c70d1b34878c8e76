using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Config;
using Beacon.Links;
using Microsoft.Extensions.Configuration;

namespace Beacon.Server;

/// <summary>The `keys` and `link` verbs (docs/tracking-links.md). Exit codes as in <see cref="Verbs"/>.</summary>
internal static class LinkVerbs
{
    /// <summary>Momentum's default tracking_link_expiry (spec §F3.6): how long old keys are kept when nothing says longer.</summary>
    private const long DefaultExpiry = 31_536_000;

    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static int Rotate(Verbs.Source source, long? activateIn, long? keep)
    {
        if (!TryDataDir(source, out var dataDir) || !TryLongestExpiry(source, out var longest))
        {
            return 1;
        }

        if (activateIn is < 0 || keep is < 0)
        {
            Console.Error.WriteLine("beacon: --activate-in and --keep are seconds, zero or more");
            return 2;
        }

        var path = Keyring.DefaultPath(dataDir);
        try
        {
            Keyring.LoadOrCreate(path, TimeProvider.System);
            var keepOld = TimeSpan.FromSeconds(keep ?? longest);
            var added = Keyring.Rotate(path, TimeProvider.System, TimeSpan.FromSeconds(activateIn ?? 0), keepOld);
            Console.WriteLine($"added key {added.Id} to {path}, sealing new links from {added.ActivateAfter.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
            Console.WriteLine($"older keys open their links until {(added.ActivateAfter + keepOld).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} " +
                $"({keepOld.TotalSeconds:0} seconds after that: {(keep is null ? "the longest tracking_link_expiry" : "--keep")})");
            if (activateIn is > 0)
            {
                Console.WriteLine($"copy {path} to every other node before then");
            }

            return 0;
        }
        catch (KeyringException e)
        {
            Console.Error.WriteLine($"beacon: {e.Message}");
            return 1;
        }
    }

    public static int List(Verbs.Source source, bool json)
    {
        if (!TryDataDir(source, out var dataDir))
        {
            return 1;
        }

        Keyring keyring;
        try
        {
            keyring = Keyring.Load(Keyring.DefaultPath(dataDir), TimeProvider.System);
        }
        catch (KeyringException e)
        {
            Console.Error.WriteLine($"beacon: {e.Message}");
            return 1;
        }

        var now = TimeProvider.System.GetUtcNow();
        ushort? sealing = null;
        try
        {
            sealing = keyring.ActiveKey().Id;
        }
        catch (KeyringException)
        {
            // Listed as such below: no key is "sealing".
        }

        string State(LinkKey k) => k.Id == sealing ? "sealing" : k.IsRetired(now) ? "retired" : k.ActivateAfter > now ? "pending" : "opening";
        if (json)
        {
            var array = new JsonArray([.. keyring.Keys.Select(k => (JsonNode)new JsonObject
            {
                ["id"] = k.Id,
                ["state"] = State(k),
                ["created"] = k.Created.UtcDateTime,
                ["activate_after"] = k.ActivateAfter.UtcDateTime,
                ["retire_after"] = k.RetireAfter?.UtcDateTime,
            })]);
            Console.WriteLine(array.ToJsonString(Pretty));
            return 0;
        }

        Console.WriteLine($"{"ID",5}  {"STATE",-8}  {"CREATED (UTC)",-20}  {"ACTIVATE AFTER",-20}  RETIRE AFTER");
        foreach (var key in keyring.Keys)
        {
            Console.WriteLine($"{key.Id,5}  {State(key),-8}  {key.Created.UtcDateTime,-20:yyyy-MM-ddTHH:mm:ssZ}  {key.ActivateAfter.UtcDateTime,-20:yyyy-MM-ddTHH:mm:ssZ}  " +
                (key.RetireAfter?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "-"));
        }

        Console.WriteLine($"{keyring.Path}: {keyring.Keys.Count} key{(keyring.Keys.Count == 1 ? string.Empty : "s")}");
        return 0;
    }

    public static int Decode(Verbs.Source source, string url)
    {
        if (!TryDataDir(source, out var dataDir))
        {
            return 1;
        }

        LinkCodec codec;
        try
        {
            codec = new LinkCodec(Keyring.Load(Keyring.DefaultPath(dataDir), TimeProvider.System));
        }
        catch (KeyringException e)
        {
            Console.Error.WriteLine($"beacon: {e.Message}");
            return 1;
        }

        // A bare token (support often gets only that) has no path; a whole escaped URL has %2F instead of '/'.
        var bare = !url.Contains('/') && !url.Contains("%2F", StringComparison.OrdinalIgnoreCase);
        OpenedLink? opened;
        LinkRejection rejection;
        if (!(bare ? codec.TryOpen(Uri.UnescapeDataString(url.Trim()), out opened, out rejection) : codec.TryOpenUrl(url, out opened, out rejection)))
        {
            Console.Error.WriteLine($"beacon: not a valid tracked link: {Describe(rejection)} ({rejection})");
            return 1;
        }

        Console.WriteLine(ToJson(opened!, TimeProvider.System.GetUtcNow()).ToJsonString(Pretty));
        return 0;
    }

    /// <summary>
    /// Seals a link with this data directory's keyring and prints its URL: for testing a tracker by hand and for
    /// bench/tracker-throughput.sh. The link carries only what is given; the message id is random unless given.
    /// </summary>
    public static int Encode(Verbs.Source source, EncodeRequest request)
    {
        if (!TryDataDir(source, out var dataDir))
        {
            return 1;
        }

        var kind = request.Kind switch
        {
            "click" => LinkKind.Click,
            "open" => LinkKind.Open,
            "initial_open" => LinkKind.InitialOpen,
            _ => (LinkKind)0,
        };
        var messageId = request.MessageId ?? Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(10));
        if (kind == 0 || (kind == LinkKind.Click) != (request.Target is not null) || messageId.Length != 20 || !messageId.All(char.IsAsciiHexDigitLower))
        {
            Console.Error.WriteLine("beacon: --kind is click (with --target), open or initial_open (without); --message-id is 20 lowercase hex characters");
            return 2;
        }

        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var link = new TrackedLink
        {
            Kind = kind,
            MessageId = messageId,
            TransmissionId = request.TransmissionId,
            Recipient = request.Recipient,
            CampaignId = request.CampaignId,
            Target = request.Target,
            LinkName = request.LinkName,
            ExpiresAt = now + (request.ExpiresIn ?? DefaultExpiry),
            RenderedAt = request.RenderedAt,
        };
        try
        {
            var keyring = Keyring.LoadOrCreate(Keyring.DefaultPath(dataDir), TimeProvider.System);
            var builder = new LinkBuilder(new LinkCodec(keyring), Microsoft.Extensions.Logging.Abstractions.NullLogger<LinkBuilder>.Instance);
            var url = builder.Build(request.Scheme, request.TrackingDomain, null, link);
            if (url is null)
            {
                Console.Error.WriteLine($"beacon: the token would be longer than {LinkCodec.MaxTokenChars} characters");
                return 1;
            }

            Console.WriteLine(url);
            return 0;
        }
        catch (Exception e) when (e is KeyringException or ArgumentException)
        {
            Console.Error.WriteLine($"beacon: {e.Message}");
            return 1;
        }
    }

    /// <summary>The options of `beacon link encode`.</summary>
    internal sealed record EncodeRequest(
        string Kind, string? Target, string Recipient, string? MessageId, string? TransmissionId, string? CampaignId, string? LinkName,
        long? ExpiresIn, long? RenderedAt, string Scheme, string TrackingDomain);

    /// <summary>Field names as in click and open events (spec §2), so support can compare a link with its events.</summary>
    internal static JsonObject ToJson(OpenedLink opened, DateTimeOffset now)
    {
        var link = opened.Link;
        var json = new JsonObject
        {
            ["kind"] = link.Kind switch { LinkKind.Click => "click", LinkKind.Open => "open", _ => "initial_open" },
            ["key_id"] = opened.KeyId,
            ["message_id"] = link.MessageId,
        };
        Add(json, "transmission_id", link.TransmissionId);
        Add(json, "customer_id", link.CustomerId);
        json["rcpt_to"] = link.Recipient;
        Add(json, "campaign_id", link.CampaignId);
        if (link.Tags.Count > 0)
        {
            json["rcpt_tags"] = new JsonArray([.. link.Tags.Select(t => (JsonNode)JsonValue.Create(t))]);
        }

        if (link.Metadata is not null)
        {
            json["rcpt_meta"] = ParseOrText(link.Metadata);
        }

        Add(json, "target_link_url", link.Target);
        Add(json, "target_link_name", link.LinkName);
        if (link.Kind == LinkKind.Click)
        {
            json["unsubscribe"] = link.Unsubscribe;
        }

        json["expires_at"] = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(link.ExpiresAt, 0, 253402300799)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        json["expired"] = link.IsExpired(now);
        Add(json, "node_name", link.NodeName);
        if (link.RenderedAt is { } rendered)
        {
            json["rendered_at"] = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(rendered, 0, 253402300799)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        }

        return json;
    }

    private static void Add(JsonObject json, string name, string? value)
    {
        if (value is not null)
        {
            json[name] = value;
        }
    }

    private static JsonNode? ParseOrText(string metadata)
    {
        try
        {
            return JsonNode.Parse(metadata);
        }
        catch (JsonException)
        {
            return metadata; // sealed by a writer that did not check; shown as it is
        }
    }

    private static string Describe(LinkRejection rejection) => rejection switch
    {
        LinkRejection.Empty => "there is no token",
        LinkRejection.TooLong => "the token is too long",
        LinkRejection.UnknownRoute => "the path is not /f/…, /q/… or /o/…",
        LinkRejection.BadEncoding => "the token is not base64url",
        LinkRejection.Truncated => "the token is cut short",
        LinkRejection.UnknownVersion => "the token has an unknown format version",
        LinkRejection.UnknownKind => "the token has an unknown kind",
        LinkRejection.WrongKind => "a click token under an open path, or the reverse",
        LinkRejection.UnknownKey => "the token names a key that is not in this keyring",
        LinkRejection.KeyRetired => "the token's key has retired",
        LinkRejection.AuthenticationFailed => "the token was altered or sealed with another keyring",
        LinkRejection.MalformedPayload => "the sealed payload does not parse",
        _ => "rejected",
    };

    private static bool TryDataDir(Verbs.Source source, out string dataDir)
    {
        try
        {
            dataDir = Path.GetFullPath(ConfigLoader.LoadOrThrow(source.File, source.Overrides).DataDir);
            return true;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"beacon: {e.Message}");
            dataDir = string.Empty;
            return false;
        }
    }

    /// <summary>
    /// The largest tracking_link_expiry anywhere in the configuration (global, listener or peer scope), read from
    /// the raw keys so that every scope counts; Momentum's default when none is set.
    /// </summary>
    private static bool TryLongestExpiry(Verbs.Source source, out long seconds)
    {
        seconds = DefaultExpiry;
        foreach (var (key, value) in ConfigLoader.Build(source.File, source.Overrides).AsEnumerable())
        {
            if (key.EndsWith("tracking_link_expiry", StringComparison.OrdinalIgnoreCase) && value is not null)
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var expiry))
                {
                    Console.Error.WriteLine($"beacon: {key}: '{value}' is not a whole number of seconds");
                    return false;
                }

                seconds = Math.Max(seconds, expiry);
            }
        }

        return true;
    }
}
