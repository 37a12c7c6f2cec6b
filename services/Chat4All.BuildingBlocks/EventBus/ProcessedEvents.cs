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
    /// <summary>
    /// Which of <paramref name="eventIds"/> the group has handled, in their order: one <c>MGET</c>
    /// for the whole list (a command per read batch rather than an <c>EXISTS</c> per event).
    /// </summary>
    public async Task<bool[]> ContainAsync(string consumerGroup, IReadOnlyList<Guid> eventIds, CancellationToken cancellationToken)
    {
        var prefix = options.Value.KeyPrefix;
        var values = await redis.GetDatabase()
            .StringGetAsync([.. eventIds.Select(id => (RedisKey)RedisStreamKeys.Processed(prefix, consumerGroup, id))])
            .WaitAsync(cancellationToken);
        return [.. values.Select(v => !v.IsNull)];
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
}
