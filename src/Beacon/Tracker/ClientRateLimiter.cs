using System.Net;

namespace Beacon.Tracker;

/// <summary>
/// A token bucket per client address: <c>perMinute</c> tokens of burst, refilled at <c>perMinute</c>/60 a second.
/// Past the limit the tracker still answers every request; it only stops recording events (docs/tracking-links.md).
/// Design note: memory is bounded by <c>maxClients</c> over 16 shards, each with its own lock so that requests of
/// different clients rarely contend. A full shard first forgets buckets that have refilled completely (they are
/// the same as new ones); if that frees less than an eighth, it forgets arbitrary ones. So a flood from many
/// addresses can reset some client's bucket early — the cost of the bound; such a client gets a fresh burst.
/// </summary>
public sealed class ClientRateLimiter
{
    private const int Shards = 16;

    private readonly Shard[] _shards;
    private readonly double _capacity;
    private readonly double _perTick;
    private readonly long _refillTicks;
    private readonly int _shardCapacity;
    private readonly TimeProvider _time;

    /// <param name="perMinute">Events per minute per address; 0 turns limiting off.</param>
    public ClientRateLimiter(int perMinute, int maxClients, TimeProvider time)
    {
        _capacity = perMinute;
        _time = time;
        _perTick = perMinute / 60.0 / time.TimestampFrequency;
        _refillTicks = perMinute == 0 ? 0 : (long)Math.Ceiling(_capacity / _perTick);
        _shardCapacity = Math.Max(1, maxClients / Shards);
        _shards = [.. Enumerable.Range(0, Shards).Select(_ => new Shard())];
    }

    public bool Enabled => _capacity > 0;

    /// <summary>Addresses remembered now, at most about maxClients.</summary>
    public int Count => _shards.Sum(s => { lock (s) { return s.Buckets.Count; } });

    /// <summary>Takes one token for <paramref name="address"/>; false when its bucket is empty.</summary>
    public bool TryAcquire(IPAddress address)
    {
        if (!Enabled)
        {
            return true;
        }

        var now = _time.GetTimestamp();
        var shard = _shards[(address.GetHashCode() & int.MaxValue) % Shards];
        lock (shard)
        {
            if (!shard.Buckets.TryGetValue(address, out var bucket))
            {
                if (shard.Buckets.Count >= _shardCapacity)
                {
                    Evict(shard, now);
                }

                bucket = new Bucket { Tokens = _capacity, Stamp = now };
                shard.Buckets[address] = bucket;
            }
            else
            {
                bucket.Tokens = Math.Min(_capacity, bucket.Tokens + ((now - bucket.Stamp) * _perTick));
                bucket.Stamp = now;
            }

            if (bucket.Tokens < 1)
            {
                return false;
            }

            bucket.Tokens -= 1;
            return true;
        }
    }

    private void Evict(Shard shard, long now)
    {
        var target = _shardCapacity - Math.Max(1, _shardCapacity / 8);
        foreach (var (address, bucket) in shard.Buckets)
        {
            if (now - bucket.Stamp >= _refillTicks)
            {
                shard.Buckets.Remove(address);
            }
        }

        foreach (var address in shard.Buckets.Keys)
        {
            if (shard.Buckets.Count <= target)
            {
                break;
            }

            shard.Buckets.Remove(address);
        }
    }

    private sealed class Shard
    {
        public Dictionary<IPAddress, Bucket> Buckets { get; } = [];
    }

    private sealed class Bucket
    {
        public double Tokens { get; set; }

        public long Stamp { get; set; }
    }
}
