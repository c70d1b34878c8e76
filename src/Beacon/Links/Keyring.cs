using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Spool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Links;

/// <summary>
/// The link keys, in <c>data_dir/keys/keyring.json</c> (mode 0600, written atomically under a lock file).
/// Nodes that serve each other's links share this one file (docs/tracking-links.md, "Several nodes"). A rotation
/// on one node becomes visible to the others without a restart: the file's modification time is looked at, at most
/// every <see cref="RefreshInterval"/>, and at once when a token names a key id this node does not know yet.
/// Design note: readers take the immutable <see cref="_keys"/> snapshot without locking; a reload swaps it whole.
/// </summary>
public sealed class Keyring
{
    public const string FileName = "keyring.json";

    /// <summary>How long a node may keep sealing with the old key after the file changed.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(30);

    private const int Format = 1;
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private volatile IReadOnlyList<LinkKey> _keys;
    private DateTime _fileStamp;
    private long _lastCheck;

    private Keyring(string path, IReadOnlyList<LinkKey> keys, DateTime stamp, TimeProvider time, ILogger logger)
    {
        Path = path;
        _keys = keys;
        _fileStamp = stamp;
        _time = time;
        _logger = logger;
        _lastCheck = time.GetTimestamp();
    }

    public string Path { get; }

    public IReadOnlyList<LinkKey> Keys => _keys;

    public static string DefaultPath(string dataDir) => System.IO.Path.Combine(dataDir, "keys", FileName);

    /// <summary>Reads the keyring, first creating it with one active key if there is no file (first start).</summary>
    public static Keyring LoadOrCreate(string path, TimeProvider time, ILogger? logger = null)
    {
        using (Lock(path))
        {
            if (!File.Exists(path))
            {
                var now = time.GetUtcNow();
                Write(path, [new LinkKey(1, RandomNumberGenerator.GetBytes(32), now, now, null)]);
                (logger ?? NullLogger.Instance).LogInformation("links: created keyring {Path} with key 1", path);
            }
        }

        return Load(path, time, logger);
    }

    /// <summary>Reads an existing keyring; throws <see cref="KeyringException"/> if it is missing or invalid.</summary>
    public static Keyring Load(string path, TimeProvider time, ILogger? logger = null)
    {
        var (keys, stamp) = Read(path);
        return new Keyring(path, keys, stamp, time, logger ?? NullLogger.Instance);
    }

    /// <summary>
    /// Adds key max(id)+1, active from now + <paramref name="activateIn"/>, and schedules every key that has no
    /// retirement yet to retire <paramref name="keepOld"/> after that activation: the old key still seals links until
    /// then, and those live at most the longest <c>tracking_link_expiry</c>. Keys already past retirement are removed.
    /// </summary>
    public static LinkKey Rotate(string path, TimeProvider time, TimeSpan activateIn, TimeSpan keepOld)
    {
        using (Lock(path))
        {
            var (keys, _) = Read(path);
            var now = time.GetUtcNow();
            var nextId = keys.Max(k => k.Id) + 1;
            if (nextId > ushort.MaxValue)
            {
                throw new KeyringException($"{path}: key ids are exhausted (65535); start a new keyring");
            }

            var added = new LinkKey((ushort)nextId, RandomNumberGenerator.GetBytes(32), now, now + activateIn, null);
            var kept = keys.Where(k => !k.IsRetired(now)).Select(k => k.RetireAfter is null ? k with { RetireAfter = added.ActivateAfter + keepOld } : k);
            Write(path, [.. kept, added]);
            return added;
        }
    }

    /// <summary>The key that seals new links now: the most recently activated key that is not retired.</summary>
    public LinkKey ActiveKey()
    {
        RefreshIfDue(force: false);
        var now = _time.GetUtcNow();
        LinkKey? best = null;
        foreach (var key in _keys)
        {
            if (key.IsActive(now) && (best is null || key.ActivateAfter > best.ActivateAfter || (key.ActivateAfter == best.ActivateAfter && key.Id > best.Id)))
            {
                best = key;
            }
        }

        return best ?? throw new KeyringException($"{Path}: no key is active now; run `beacon keys rotate`");
    }

    /// <summary>The key that opens a token naming <paramref name="id"/>, or the reason there is none.</summary>
    public bool TryGetKey(ushort id, out LinkKey? key, out LinkRejection rejection)
    {
        key = Find(id);
        if (key is null && RefreshIfDue(force: true))
        {
            key = Find(id);
        }

        rejection = key is null ? LinkRejection.UnknownKey : key.IsRetired(_time.GetUtcNow()) ? LinkRejection.KeyRetired : LinkRejection.None;
        if (rejection != LinkRejection.None)
        {
            key = null;
        }

        return key is not null;
    }

    private LinkKey? Find(ushort id)
    {
        foreach (var key in _keys)
        {
            if (key.Id == id)
            {
                return key;
            }
        }

        return null;
    }

    /// <summary>Reloads if the file changed. Forced checks (unknown key ids) are still limited to one a second.</summary>
    private bool RefreshIfDue(bool force)
    {
        var last = Interlocked.Read(ref _lastCheck);
        var elapsed = _time.GetElapsedTime(last);
        if (elapsed < (force ? TimeSpan.FromSeconds(1) : RefreshInterval) || Interlocked.CompareExchange(ref _lastCheck, _time.GetTimestamp(), last) != last)
        {
            return false;
        }

        try
        {
            if (File.GetLastWriteTimeUtc(Path) == _fileStamp)
            {
                return false;
            }

            (_keys, _fileStamp) = Read(Path);
            _logger.LogInformation("links: reloaded keyring {Path}: keys {Ids}", Path, string.Join(", ", _keys.Select(k => k.Id)));
            return true;
        }
        catch (Exception e) when (e is KeyringException or IOException or UnauthorizedAccessException)
        {
            _logger.LogError(e, "links: keyring {Path} changed but cannot be read; keeping the keys loaded before", Path);
            return false;
        }
    }

    private static (IReadOnlyList<LinkKey> Keys, DateTime Stamp) Read(string path)
    {
        byte[] bytes;
        DateTime stamp;
        try
        {
            stamp = File.GetLastWriteTimeUtc(path);
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyringException($"{path}: cannot read the keyring: {e.Message}", e);
        }

        try
        {
            var root = JsonNode.Parse(bytes) as JsonObject ?? throw new KeyringException($"{path}: not a JSON object");
            if ((int?)root["format"] != Format)
            {
                throw new KeyringException($"{path}: unknown keyring format {root["format"]?.ToJsonString() ?? "(none)"}");
            }

            var keys = new List<LinkKey>();
            foreach (var item in root["keys"] as JsonArray ?? [])
            {
                var id = (int?)item?["id"] ?? 0;
                var secret = Convert.FromBase64String((string?)item?["key"] ?? string.Empty);
                if (id is < 1 or > ushort.MaxValue || secret.Length != 32 || keys.Any(k => k.Id == id))
                {
                    throw new KeyringException($"{path}: key {id}: needs a unique id from 1 to 65535 and a 256-bit key in base64");
                }

                var created = (DateTimeOffset?)item?["created"] ?? throw new KeyringException($"{path}: key {id}: no created time");
                keys.Add(new LinkKey((ushort)id, secret, created, (DateTimeOffset?)item?["activate_after"] ?? created, (DateTimeOffset?)item?["retire_after"]));
            }

            return keys.Count > 0 ? (keys, stamp) : throw new KeyringException($"{path}: no keys");
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new KeyringException($"{path}: invalid keyring: {e.Message}", e);
        }
    }

    private static void Write(string path, IEnumerable<LinkKey> keys)
    {
        var root = new JsonObject
        {
            ["format"] = Format,
            ["keys"] = new JsonArray([.. keys.OrderBy(k => k.Id).Select(k => (JsonNode)new JsonObject
            {
                ["id"] = k.Id,
                ["key"] = Convert.ToBase64String(k.Secret),
                ["created"] = k.Created.UtcDateTime,
                ["activate_after"] = k.ActivateAfter.UtcDateTime,
                ["retire_after"] = k.RetireAfter?.UtcDateTime,
            })]),
        };

        // A unique temporary name: another process may be reading the old file; the lock keeps writers apart.
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(JsonSerializer.SerializeToUtf8Bytes(root, Indented));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DurableFile.SyncDirectory(System.IO.Path.GetDirectoryName(path)!);
    }

    /// <summary>An exclusive lock on keyring.lock beside the file, waiting up to ten seconds for another writer.</summary>
    private static FileStream Lock(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var lockPath = System.IO.Path.Combine(directory, "keyring.lock");
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 100)
            {
                Thread.Sleep(100);
            }
            catch (IOException e)
            {
                throw new KeyringException($"{lockPath}: another process holds the keyring lock", e);
            }
        }
    }
}
