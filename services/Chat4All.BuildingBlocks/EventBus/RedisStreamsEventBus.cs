using Chat4All.BuildingBlocks.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Standalone publisher: XADD to the topic shard stream that the partition key hashes to, so one
/// key's events stay in one stream, in publish order. Returns once Redis appended the entry; throws
/// (RedisException / TimeoutException) when it could not, so callers such as the outbox retry. Then
/// it wakes the stream's idle consumers (<see cref="StreamWakeups"/>).
/// </summary>
internal sealed class RedisStreamsEventBus(IConnectionMultiplexer redis, IOptions<EventBusOptions> options, EventBusMetrics metrics, StreamWakeups wakeups) : IEventBus
{
    public async Task PublishAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var settings = options.Value;
        var shard = RedisStreamKeys.ShardOf(integrationEvent.PartitionKey, settings.Shards);
        var stream = RedisStreamKeys.Stream(settings.KeyPrefix, integrationEvent.Topic, shard);
        var database = redis.GetDatabase();
        await database.StreamAddAsync(
                stream,
                RedisStreamEntries.Encode(integrationEvent),
                maxLength: settings.MaxStreamLength,
                useApproximateMaxLength: settings.MaxStreamLength is not null)
            .WaitAsync(cancellationToken);
        metrics.Published(integrationEvent.Topic);

        // Idle consumers here and on other instances look now instead of at their next poll.
        wakeups.Notify(stream);
        await database.PublishAsync(StreamWakeups.Channel(settings.KeyPrefix), stream, CommandFlags.FireAndForget | RedisPubSub.OnPrimary);
    }
}
