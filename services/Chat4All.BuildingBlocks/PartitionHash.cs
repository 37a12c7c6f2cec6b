using System.Text;

namespace Chat4All.BuildingBlocks;

/// <summary>
/// The stable hash of a partition key (32-bit FNV-1a over UTF-8) that every component uses to map
/// keys to shards or buckets. Unlike <see cref="string.GetHashCode()"/> it is identical in every
/// process and every release, which the stored bucket and shard numbers depend on.
/// </summary>
public static class PartitionHash
{
    public static uint Of(string partitionKey)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(partitionKey))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash;
    }

    public static int Bucket(string partitionKey, int buckets) => (int)(Of(partitionKey) % (uint)buckets);
}
