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

    /// <summary>Every captured copy, oldest message first.</summary>
    public IEnumerable<(string Path, CapturedEnvelope Envelope)> List()
    {
        if (!Directory.Exists(Root))
        {
            yield break;
        }

        foreach (var directory in Directory.EnumerateDirectories(Root).Order(StringComparer.Ordinal))
        {
            foreach (var meta in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
            {
                var copy = Path.ChangeExtension(meta, ".eml");
                CapturedEnvelope? envelope = null;
                try
                {
                    envelope = JsonSerializer.Deserialize<CapturedEnvelope>(File.ReadAllBytes(meta), Json);
                }
                catch (Exception e) when (e is IOException or JsonException)
                {
                    // A half-written pair from a crash: the copy is written again when the recipient is retried.
                }

                if (envelope is not null && File.Exists(copy))
                {
                    yield return (copy, envelope);
                }
            }
        }
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
