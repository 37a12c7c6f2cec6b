using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Standalone publisher: XADD to the topic shard stream that the partition key hashes to, so one
/// key's events stay in one stream, in publish order. Returns once Redis appended the entry; throws
/// (RedisException / TimeoutException) when it could not, so callers such as the outbox retry.
/// </summary>
internal sealed class RedisStreamsEventBus(IConnectionMultiplexer redis, IOptions<EventBusOptions> options, EventBusMetrics metrics) : IEventBus
{
    public async Task PublishAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var settings = options.Value;
        var shard = RedisStreamKeys.ShardOf(integrationEvent.PartitionKey, settings.Shards);
        await redis.GetDatabase().StreamAddAsync(
                RedisStreamKeys.Stream(settings.KeyPrefix, integrationEvent.Topic, shard),
                RedisStreamEntries.Encode(integrationEvent),
                maxLength: settings.MaxStreamLength,
                useApproximateMaxLength: settings.MaxStreamLength is not null)
            .WaitAsync(cancellationToken);
        metrics.Published(integrationEvent.Topic);
    }
}
