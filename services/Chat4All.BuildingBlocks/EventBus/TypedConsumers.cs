using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// A consumer of one event type: it receives the envelope and the body already read as its contract
/// record. The body is read once, here (<see cref="IntegrationEvent.DataAs{T}"/>), before the handler
/// runs; an empty or malformed body throws <see cref="JsonException"/>, which the dispatcher treats
/// like any failure: retried, then dead-lettered (docs/adr/0051). The dispatcher itself still calls
/// the untyped <see cref="IIntegrationEventConsumer.HandleAsync"/>, which this interface implements.
/// </summary>
public interface IIntegrationEventConsumer<TEvent> : IIntegrationEventConsumer
    where TEvent : class
{
    Task HandleAsync(IntegrationEvent envelope, TEvent data, CancellationToken cancellationToken);

    Task IIntegrationEventConsumer.HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken) =>
        HandleAsync(integrationEvent, integrationEvent.DataAs<TEvent>(), cancellationToken);
}

/// <summary>An event with its body read as its contract record.</summary>
public sealed record ReceivedEvent<TEvent>(IntegrationEvent Envelope, TEvent Data);

/// <summary>
/// The batch counterpart of <see cref="IIntegrationEventConsumer{TEvent}"/> (docs/adr/0038): each read
/// batch arrives with every body read. One malformed body fails the batch; the adapter then falls back
/// to one event at a time, so only that event is retried and dead-lettered. One event alone is a batch
/// of one, so a batch consumer writes only <see cref="HandleBatchAsync"/>.
/// </summary>
public interface IIntegrationEventBatchConsumer<TEvent> : IIntegrationEventConsumer<TEvent>, IIntegrationEventBatchConsumer
    where TEvent : class
{
    Task HandleBatchAsync(IReadOnlyList<ReceivedEvent<TEvent>> integrationEvents, CancellationToken cancellationToken);

    Task IIntegrationEventBatchConsumer.HandleBatchAsync(IReadOnlyList<IntegrationEvent> integrationEvents, CancellationToken cancellationToken) =>
        HandleBatchAsync([.. integrationEvents.Select(e => new ReceivedEvent<TEvent>(e, e.DataAs<TEvent>()))], cancellationToken);

    Task IIntegrationEventConsumer<TEvent>.HandleAsync(IntegrationEvent envelope, TEvent data, CancellationToken cancellationToken) =>
        HandleBatchAsync([new ReceivedEvent<TEvent>(envelope, data)], cancellationToken);
}

/// <summary>
/// For a topic that carries several event types (<c>message.created</c> also carries
/// <c>MessageUpdated</c> and <c>MessageDeleted</c>): a consumer implements
/// <see cref="IIntegrationEventConsumer{TEvent}"/> once per type and routes each event, by its
/// <see cref="IntegrationEvent.Type"/> (the record's name), to the handler of that type, with its body read.
/// </summary>
public static class IntegrationEventRouting
{
    private static readonly ConcurrentDictionary<(Type Consumer, string EventType), Func<object, IntegrationEvent, CancellationToken, Task>?> Handlers = new();

    private static readonly MethodInfo HandleTyped = typeof(IntegrationEventRouting).GetMethod(nameof(HandleAsync), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>
    /// Hands <paramref name="integrationEvent"/> to <paramref name="consumer"/>'s handler of its type. A
    /// type the consumer has no handler for throws <see cref="JsonException"/>: retried, then
    /// dead-lettered, never read as another type.
    /// </summary>
    public static Task RouteAsync(this IntegrationEvent integrationEvent, IIntegrationEventConsumer consumer, CancellationToken cancellationToken)
    {
        var handler = Handlers.GetOrAdd((consumer.GetType(), integrationEvent.Type), static key => HandlerOf(key.Consumer, key.EventType))
            ?? throw new JsonException($"{consumer.GetType().Name} has no handler for {integrationEvent.Type} events on {integrationEvent.Topic}.");
        return handler(consumer, integrationEvent, cancellationToken);
    }

    private static Func<object, IntegrationEvent, CancellationToken, Task>? HandlerOf(Type consumerType, string eventType) =>
        consumerType.GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IIntegrationEventConsumer<>) && i.GetGenericArguments()[0].Name == eventType)
            .Select(i => HandleTyped.MakeGenericMethod(i.GetGenericArguments()[0]).CreateDelegate<Func<object, IntegrationEvent, CancellationToken, Task>>())
            .FirstOrDefault();

    private static Task HandleAsync<TEvent>(object consumer, IntegrationEvent integrationEvent, CancellationToken cancellationToken)
        where TEvent : class =>
        ((IIntegrationEventConsumer<TEvent>)consumer).HandleAsync(integrationEvent, integrationEvent.DataAs<TEvent>(), cancellationToken);
}
