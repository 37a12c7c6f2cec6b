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

        await WakeAsync(database, settings, [stream]);
    }

    public bool PublishesBatchesAtomically => true;

    /// <summary>
    /// One MULTI/EXEC: the appends reach Redis in order and are applied all or none, so a failure can
    /// never leave a later event of a key in its stream without an earlier one.
    /// </summary>
    public async Task PublishBatchAsync(IReadOnlyList<IntegrationEvent> integrationEvents, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (integrationEvents.Count == 0)
        {
            return;
        }

        var settings = options.Value;
        var database = redis.GetDatabase();
        var transaction = database.CreateTransaction();
        var streams = new HashSet<string>(StringComparer.Ordinal);
        var appends = new List<Task>(integrationEvents.Count);
        foreach (var integrationEvent in integrationEvents)
        {
            var stream = RedisStreamKeys.Stream(settings.KeyPrefix, integrationEvent.Topic, RedisStreamKeys.ShardOf(integrationEvent.PartitionKey, settings.Shards));
            streams.Add(stream);
            appends.Add(transaction.StreamAddAsync(stream, RedisStreamEntries.Encode(integrationEvent),
                maxLength: settings.MaxStreamLength, useApproximateMaxLength: settings.MaxStreamLength is not null));
        }

        if (!await transaction.ExecuteAsync().WaitAsync(cancellationToken))
        {
            throw new RedisException("The batch of appends was not applied.");
        }

        await Task.WhenAll(appends);
        foreach (var integrationEvent in integrationEvents)
        {
            metrics.Published(integrationEvent.Topic);
        }

        await WakeAsync(database, settings, streams);
    }

    // Idle consumers here and on other instances look now instead of at their next poll.
    private async Task WakeAsync(IDatabase database, EventBusOptions settings, IEnumerable<string> streams)
    {
        foreach (var stream in streams)
        {
            wakeups.Notify(stream);
            await database.PublishAsync(StreamWakeups.Channel(settings.KeyPrefix), stream, CommandFlags.FireAndForget | RedisPubSub.OnPrimary);
        }
    }
}
