using System.Globalization;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// The Redis key layout of the standalone event bus (docs/adr/0005-event-bus.md). Public because
/// operators and tests inspect these keys; the layout is stable across releases.
/// </summary>
public static class RedisStreamKeys
{
    /// <summary>The shard a partition key lives in: stable FNV-1a hash, never <see cref="string.GetHashCode()"/>.</summary>
    public static int ShardOf(string partitionKey, int shards) => PartitionHash.Bucket(partitionKey, shards);

    /// <summary><c>{prefix}:stream:{topic}:{shard}</c> — one stream per topic shard.</summary>
    public static string Stream(string prefix, string topic, int shard) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}:stream:{topic}:{shard}");

    /// <summary><c>{prefix}:stream:{topic}.dlq</c> — where a topic's consumers park events they gave up on.</summary>
    public static string DeadLetterStream(string prefix, string topic) => $"{prefix}:stream:{Topics.DeadLetterOf(topic)}";

    /// <summary><c>{prefix}:lease:{group}:{topic}:{shard}</c> — who processes this shard for this group right now.</summary>
    public static string Lease(string prefix, string consumerGroup, string topic, int shard) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}:lease:{consumerGroup}:{topic}:{shard}");

    /// <summary><c>{prefix}:processed:{group}:{id}</c> — set once the group handled the event.</summary>
    public static string Processed(string prefix, string consumerGroup, Guid eventId) => $"{prefix}:processed:{consumerGroup}:{eventId:D}";

    /// <summary><c>{prefix}:members:{group}:{topic}</c> — live instances of the group (heartbeats), for sharing shards fairly.</summary>
    public static string Members(string prefix, string consumerGroup, string topic) => $"{prefix}:members:{consumerGroup}:{topic}";
}
