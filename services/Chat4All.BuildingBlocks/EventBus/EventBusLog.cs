using Microsoft.Extensions.Logging;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Source-generated log messages of the event-bus adapters (event ids 6100–6199). The event's id is
/// logged as <c>IntegrationEventId</c>: a property named <c>EventId</c> would collide with the
/// logging framework's own event id.
/// </summary>
internal static partial class EventBusLog
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Redis unavailable while coordinating shards of {Topic} for {ConsumerGroup}; retrying")]
    public static partial void CoordinatorRedisUnavailable(ILogger logger, Exception exception, string topic, string consumerGroup);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Redis unavailable while consuming {Topic} shard {Shard} for {ConsumerGroup}; retrying in {Delay}")]
    public static partial void ShardRedisUnavailable(ILogger logger, Exception exception, string topic, int shard, string consumerGroup, TimeSpan delay);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Information, Message = "Took shard {Shard} of {Topic} for {ConsumerGroup} ({Owner})")]
    public static partial void ShardAcquired(ILogger logger, int shard, string topic, string consumerGroup, string owner);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Warning, Message = "Lost the lease of shard {Shard} of {Topic} for {ConsumerGroup}; stopping it")]
    public static partial void ShardLeaseLost(ILogger logger, int shard, string topic, string consumerGroup);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Information, Message = "Handing shard {Shard} of {Topic} for {ConsumerGroup} back ({Held} held, fair share {FairShare})")]
    public static partial void ShardHandedBack(ILogger logger, int shard, string topic, string consumerGroup, int held, int fairShare);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Error, Message = "Worker of shard {Shard} of {Topic} for {ConsumerGroup} failed; the shard will be taken again")]
    public static partial void ShardWorkerFailed(ILogger logger, Exception exception, int shard, string topic, string consumerGroup);

    [LoggerMessage(EventId = 6107, Level = LogLevel.Information, Message = "Reclaimed {Count} pending entries of {Topic} shard {Shard} for {ConsumerGroup}")]
    public static partial void Reclaimed(ILogger logger, int count, string topic, int shard, string consumerGroup);

    [LoggerMessage(EventId = 6108, Level = LogLevel.Warning, Message = "Consumer {ConsumerType} failed on event {IntegrationEventId} ({Topic}, attempt {Attempt} of {MaxAttempts}); retrying in {Delay}")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string consumerType, Guid integrationEventId, string topic, int attempt, int maxAttempts, TimeSpan delay);

    [LoggerMessage(EventId = 6109, Level = LogLevel.Error, Message = "Event {IntegrationEventId} on {Topic} dead-lettered for {ConsumerGroup} after {Attempts} attempts: {Error}")]
    public static partial void DeadLettered(ILogger logger, string integrationEventId, string topic, string consumerGroup, int attempts, string error);

    [LoggerMessage(EventId = 6110, Level = LogLevel.Warning, Message = "Consumer {ConsumerType} failed on event {IntegrationEventId} ({Topic}) delivered by Dapr; answering RETRY")]
    public static partial void DaprHandlerFailed(ILogger logger, Exception exception, string consumerType, Guid integrationEventId, string topic);

    [LoggerMessage(EventId = 6111, Level = LogLevel.Error, Message = "Dapr delivered an unreadable CloudEvent to {Route}: {Error}; answering RETRY so it reaches the dead-letter topic")]
    public static partial void DaprMalformedEvent(ILogger logger, string route, string error);

    [LoggerMessage(EventId = 6112, Level = LogLevel.Warning, Message = "Redis unavailable while deduplicating event {IntegrationEventId} ({Topic}) delivered by Dapr; answering RETRY")]
    public static partial void DaprDedupeUnavailable(ILogger logger, Exception exception, Guid integrationEventId, string topic);

    [LoggerMessage(EventId = 6113, Level = LogLevel.Warning, Message = "Could not subscribe to the event bus wake-up channel; idle shards poll instead")]
    public static partial void WakeupsUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6114, Level = LogLevel.Warning, Message = "Consumer {ConsumerType} failed on a batch of {Count} events of {Topic} shard {Shard}; taking them one at a time")]
    public static partial void BatchFailed(ILogger logger, Exception exception, string consumerType, int count, string topic, int shard);
}
