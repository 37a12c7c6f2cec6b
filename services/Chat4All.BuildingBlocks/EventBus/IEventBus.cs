namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// An integration event as it travels: already serialized, with the metadata every adapter needs.
/// <see cref="PartitionKey"/> decides ordering: events with the same key are delivered in publish
/// order (Kafka partition in dapr, stream shard in standalone).
/// </summary>
/// <param name="Id">Unique event id; consumers dedupe on it.</param>
/// <param name="Topic">Topic name from <c>Chat4All.Contracts.Topics</c>.</param>
/// <param name="Type">Event type name (the contract record's name, e.g. <c>MessageCreated</c>).</param>
/// <param name="PartitionKey">Ordering key, e.g. the conversation id.</param>
/// <param name="Data">The event body as JSON (snake_case, per the contracts).</param>
/// <param name="OccurredAt">When the fact happened.</param>
/// <param name="TraceParent">W3C traceparent of the operation that caused the event, if any.</param>
public sealed record IntegrationEvent(
    Guid Id,
    string Topic,
    string Type,
    string PartitionKey,
    string Data,
    DateTimeOffset OccurredAt,
    string? TraceParent = null)
{
    /// <summary>
    /// The body as its contract record, read with the contract's generated serializer. Every consumer
    /// reads events this one way. An empty or malformed body throws
    /// <see cref="System.Text.Json.JsonException"/>, a failure like any other (retried, then dead-lettered).
    /// </summary>
    public T DataAs<T>() where T : class =>
        System.Text.Json.JsonSerializer.Deserialize<T>(Data, Contracts.ContractJson.Options)
        ?? throw new System.Text.Json.JsonException($"Empty {Type} event on {Topic}.");
}

/// <summary>The event-bus port (docs/architecture.md §3). Publishing returns once the broker has accepted the event.</summary>
public interface IEventBus
{
    Task PublishAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken);

    /// <summary>True when <see cref="PublishBatchAsync"/> publishes all of a batch or none of it.</summary>
    bool PublishesBatchesAtomically => false;

    /// <summary>
    /// Publishes several events in their order, all or none when <see cref="PublishesBatchesAtomically"/>
    /// (the Redis Streams adapter uses one MULTI/EXEC, one round trip). By default, one after another:
    /// a failure may leave the first ones published.
    /// </summary>
    async Task PublishBatchAsync(IReadOnlyList<IntegrationEvent> integrationEvents, CancellationToken cancellationToken)
    {
        foreach (var integrationEvent in integrationEvents)
        {
            await PublishAsync(integrationEvent, cancellationToken);
        }
    }
}

/// <summary>
/// Handles one topic's events for one consuming service. Throwing means "not handled": the
/// event is retried with backoff and finally dead-lettered — never acknowledged and dropped.
/// </summary>
public interface IIntegrationEventConsumer
{
    Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken);
}

/// <summary>
/// A consumer that can also take several events of one topic shard at once, in stream order, and
/// apply them as one unit of work (one scope, one transaction, one round trip where it can). The
/// Redis Streams adapter hands it each read batch; when the batch throws, the adapter falls back to
/// <see cref="IIntegrationEventConsumer.HandleAsync"/> one event at a time, so one poisoned event is
/// retried and dead-lettered alone and the others are still handled. A batch must therefore be
/// atomic or idempotent: a failed batch's effects are applied again, event by event
/// (docs/adr/0038).
/// </summary>
public interface IIntegrationEventBatchConsumer : IIntegrationEventConsumer
{
    Task HandleBatchAsync(IReadOnlyList<IntegrationEvent> integrationEvents, CancellationToken cancellationToken);
}
