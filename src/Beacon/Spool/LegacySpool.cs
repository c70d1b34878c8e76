using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Beacon.Spool;

/// <summary>
/// Reads the file-per-message layout of earlier Beacon versions, spool/queue/{id}.eml (the body, then a metadata
/// trailer [JSON][u32 length][u32 CRC-32][the 8-octet key of spool/key]) with an optional {id}.json that supersedes
/// the trailer; older still, a body without trailer beside its {id}.json. On start every such message is moved
/// into the log (<see cref="SpoolStore.Recover"/>); what was never committed is removed, what cannot be read goes
/// to quarantine.
/// </summary>
internal static class LegacySpool
{
    private const int TrailerFixed = 16; // length, CRC-32, key

    /// <summary>The committed messages waiting in <paramref name="queueDir"/> with their body files, oldest first.</summary>
    public static List<(SpooledMessage Message, string Body)> Read(string queueDir, string keyPath, string quarantineDir, ILogger logger)
    {
        var found = new List<(SpooledMessage, string)>();
        if (!Directory.Exists(queueDir))
        {
            return found;
        }

        foreach (var temporary in Directory.EnumerateFiles(queueDir, "*.tmp").Concat(Directory.EnumerateFiles(queueDir, "*.new")))
        {
            File.Delete(temporary);
        }

        foreach (var meta in Directory.EnumerateFiles(queueDir, "*.json"))
        {
            if (!File.Exists(Path.ChangeExtension(meta, ".eml")))
            {
                File.Delete(meta); // a removal cut short between the body and its metadata
            }
        }

        var key = File.Exists(keyPath) ? File.ReadAllBytes(keyPath) : null;
        var bodies = Directory.GetFiles(queueDir, "*.eml");
        Array.Sort(bodies, StringComparer.Ordinal);
        foreach (var body in bodies)
        {
            var id = Path.GetFileNameWithoutExtension(body);
            var problem = Check(body, key, out var message);
            if (message is not null && problem is null)
            {
                found.Add((message, body));
            }
            else if (problem is null)
            {
                logger.LogInformation("spool: removing {File}, a body whose commit was interrupted before it was acknowledged", Path.GetFileName(body));
                File.Delete(body);
            }
            else
            {
                logger.LogError("spool: message {Id} moved to quarantine: {Problem}", id, problem);
                foreach (var path in new[] { Path.ChangeExtension(body, ".json"), body })
                {
                    if (File.Exists(path))
                    {
                        File.Move(path, Path.Combine(quarantineDir, Path.GetFileName(path)), overwrite: true);
                    }
                }
            }
        }

        return found;
    }

    /// <summary>Null and no problem: never committed. A problem: quarantine.</summary>
    private static string? Check(string body, byte[]? key, out SpooledMessage? message)
    {
        long length;
        try
        {
            using var file = new FileStream(body, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
            length = file.Length;
            var meta = Path.ChangeExtension(body, ".json");
            message = File.Exists(meta)
                ? JsonSerializer.Deserialize<SpooledMessage>(File.ReadAllBytes(meta), SpooledMessage.Json) ?? throw new InvalidDataException("metadata file is empty")
                : ReadTrailer(file, key);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            message = null;
            return $"metadata is not valid: {e.Message}";
        }

        if (message is null)
        {
            return null;
        }

        if (message.MessageId != Path.GetFileNameWithoutExtension(body) || message.Recipients.Count == 0)
        {
            return "metadata is incomplete";
        }

        if (message.Version > SpooledMessage.CurrentVersion)
        {
            return $"metadata version {message.Version} is newer than this Beacon understands";
        }

        return length < message.Size ? $"body is {length} octets, metadata says {message.Size}" : null;
    }

    private static SpooledMessage? ReadTrailer(FileStream body, byte[]? key)
    {
        Span<byte> tail = stackalloc byte[TrailerFixed];
        if (key is null || body.Length < TrailerFixed)
        {
            return null;
        }

        body.Position = body.Length - TrailerFixed;
        body.ReadExactly(tail);
        if (!tail[8..].SequenceEqual(key))
        {
            return null; // no trailer: the commit never happened
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        if (length > body.Length - TrailerFixed)
        {
            throw new InvalidDataException("metadata trailer is longer than the file");
        }

        var json = new byte[length];
        body.Position = body.Length - TrailerFixed - length;
        body.ReadExactly(json);
        if (Crc32.HashToUInt32(json) != BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]))
        {
            throw new InvalidDataException("metadata trailer fails its checksum");
        }

        return JsonSerializer.Deserialize<SpooledMessage>(json, SpooledMessage.Json) ?? throw new InvalidDataException("metadata trailer is empty");
    }
}
