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

    /// <summary>One flight of pipelined EXISTS for a batch, in the order of <paramref name="eventIds"/>.</summary>
    public async Task<bool[]> ContainAsync(string consumerGroup, IReadOnlyList<Guid> eventIds, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var prefix = options.Value.KeyPrefix;
        return await Task.WhenAll(eventIds.Select(id => database.KeyExistsAsync(RedisStreamKeys.Processed(prefix, consumerGroup, id))))
            .WaitAsync(cancellationToken);
    }

    /// <summary>One flight of pipelined SETs for a handled batch.</summary>
    public async Task AddAsync(string consumerGroup, IReadOnlyList<Guid> eventIds, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var prefix = options.Value.KeyPrefix;
        var window = options.Value.DedupeWindow;
        await Task.WhenAll(eventIds.Select(id => database.StringSetAsync(RedisStreamKeys.Processed(prefix, consumerGroup, id), 1, window)))
            .WaitAsync(cancellationToken);
    }

    public async Task AddAsync(string consumerGroup, Guid eventId, CancellationToken cancellationToken) =>
        await redis.GetDatabase()
            .StringSetAsync(RedisStreamKeys.Processed(options.Value.KeyPrefix, consumerGroup, eventId), 1, options.Value.DedupeWindow)
            .WaitAsync(cancellationToken);
}
