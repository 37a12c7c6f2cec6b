using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Which event ids a consumer group has already handled, kept in Redis for
/// <see cref="EventBusOptions.DedupeWindow"/>. Redis is present in both runtimes, so the Dapr adapter
/// dedupes with the same keys as the Streams adapter. It makes redeliveries cheap to skip; it is not
/// a lock, so consumers still apply guarded, idempotent transitions (docs/architecture.md §4.5).
/// </summary>
internal sealed class ProcessedEvents(IConnectionMultiplexer redis, IOptions<EventBusOptions> options)
{
    public async Task<bool> ContainsAsync(string consumerGroup, Guid eventId, CancellationToken cancellationToken) =>
        await redis.GetDatabase()
            .KeyExistsAsync(RedisStreamKeys.Processed(options.Value.KeyPrefix, consumerGroup, eventId))
            .WaitAsync(cancellationToken);

    public async Task AddAsync(string consumerGroup, Guid eventId, CancellationToken cancellationToken) =>
        await redis.GetDatabase()
            .StringSetAsync(RedisStreamKeys.Processed(options.Value.KeyPrefix, consumerGroup, eventId), 1, options.Value.DedupeWindow)
            .WaitAsync(cancellationToken);
}
