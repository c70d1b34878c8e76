using System.Text.Json;
using Beacon.Spool;

namespace Beacon.Smtpapi;

/// <summary>
/// The system-wide registry of distinct tags (spec §F9.4, §5 Q25): once it holds 100, tags not yet seen are
/// ignored while known ones keep working. Kept in data_dir/smtpapi/tags.json so the limit survives restarts.
/// </summary>
public sealed class TagRegistry
{
    public const int MaxTags = 100;

    private readonly Lock _lock = new();
    private readonly HashSet<string> _tags;
    private readonly string? _path;

    public TagRegistry(string? dataDir)
    {
        if (dataDir is null)
        {
            _tags = new(StringComparer.Ordinal);
            return;
        }

        var directory = Path.Combine(Path.GetFullPath(dataDir), "smtpapi");
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, "tags.json");
        _tags = File.Exists(_path)
            ? new(JsonSerializer.Deserialize<List<string>>(File.ReadAllBytes(_path)) ?? [], StringComparer.Ordinal)
            : new(StringComparer.Ordinal);
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _tags.Count;
            }
        }
    }

    /// <summary>The tags that may be used: known ones, and new ones while there is room.</summary>
    public IReadOnlyList<string> Admit(IEnumerable<string> tags)
    {
        var admitted = new List<string>();
        lock (_lock)
        {
            var added = false;
            foreach (var tag in tags)
            {
                if (_tags.Contains(tag))
                {
                    admitted.Add(tag);
                }
                else if (_tags.Count < MaxTags)
                {
                    _tags.Add(tag);
                    added = true;
                    admitted.Add(tag);
                }
            }

            if (added && _path is not null)
            {
                DurableFile.WriteAtomically(_path, JsonSerializer.SerializeToUtf8Bytes(_tags.Order(StringComparer.Ordinal)));
            }
        }

        return admitted;
    }
}
