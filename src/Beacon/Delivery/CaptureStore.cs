using System.Text.Json;
using System.Text.Json.Serialization;

namespace Beacon.Delivery;

/// <summary>
/// Capture mode's destination (the embedded default): each recipient's rendered copy is kept in
/// data_dir/capture/{message id}/{recipient index}.eml with its envelope in {recipient index}.json, instead of
/// leaving the machine. A copy written again after a crash replaces the first one (same name), so capture is
/// exactly-once per recipient. `beacon queue captured` lists them; the dashboard shows them.
/// </summary>
public sealed class CaptureStore(string dataDir)
{
    public string Root { get; } = Path.Combine(Path.GetFullPath(dataDir), "capture");

    public string CopyPath(string messageId, int recipient) => Path.Combine(Root, messageId, $"{recipient}.eml");

    public void Write(string messageId, int recipient, CapturedEnvelope envelope, Stream copy)
    {
        var directory = Path.Combine(Root, messageId);
        Directory.CreateDirectory(directory);
        var path = CopyPath(messageId, recipient);
        using (var file = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024))
        {
            copy.CopyTo(file);
        }

        File.WriteAllBytes(Path.ChangeExtension(path, ".json"), JsonSerializer.SerializeToUtf8Bytes(envelope, Json));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Every captured copy, oldest message first (message ids sort by time), or newest first.</summary>
    public IEnumerable<(string Path, CapturedEnvelope Envelope)> List(bool newestFirst = false)
    {
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        var directories = Directory.EnumerateDirectories(Root);
        foreach (var directory in newestFirst ? directories.OrderDescending(StringComparer.Ordinal) : directories.Order(StringComparer.Ordinal))
        {
            var metas = Directory.EnumerateFiles(directory, "*.json");
            foreach (var meta in newestFirst ? metas.OrderDescending(StringComparer.Ordinal) : metas.Order(StringComparer.Ordinal))
            {
                if (Read(meta) is { } found)
                {
                    yield return found;
                }
            }
        }
    }

    /// <summary>One copy by message id and recipient index; null when there is none (or only half of one). The
    /// caller validates both (the dashboard's CapturedCopyId): they become a path here.</summary>
    public (string Path, CapturedEnvelope Envelope)? Find(string messageId, int recipient) =>
        Read(Path.ChangeExtension(CopyPath(messageId, recipient), ".json"));

    private static (string Path, CapturedEnvelope Envelope)? Read(string meta)
    {
        var copy = Path.ChangeExtension(meta, ".eml");
        CapturedEnvelope? envelope = null;
        try
        {
            envelope = JsonSerializer.Deserialize<CapturedEnvelope>(File.ReadAllBytes(meta), Json);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            // Missing, or a half-written pair from a crash: the copy is written again when the recipient is retried.
        }

        return envelope is not null && File.Exists(copy) ? (copy, envelope) : null;
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };
}

/// <summary>Who a captured copy was for.</summary>
public sealed record CapturedEnvelope(string MessageId, string TransmissionId, string MailFrom, string Recipient, DateTimeOffset CapturedAt);
