using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat4All.BuildingBlocks.EventBus;

internal enum DispatchStatus
{
    Handled,
    Duplicate,
    Failed,
}

/// <summary>What happened to one delivery. <see cref="Error"/> is set when the consumer threw.</summary>
internal readonly record struct DispatchOutcome(DispatchStatus Status, Exception? Error = null)
{
    public static readonly DispatchOutcome Handled = new(DispatchStatus.Handled);
    public static readonly DispatchOutcome Duplicate = new(DispatchStatus.Duplicate);
}

/// <summary>
/// The one delivery path both adapters share: skip an event id the group already handled, run the
/// consumer in a fresh DI scope (it may use a scoped DbContext), record metrics and a consumer span,
/// and remember the id after success. Retrying is the adapter's job: Redis Streams retries in place,
/// Dapr retries through its resiliency policy. A consumer exception comes back as
/// <see cref="DispatchStatus.Failed"/>; a failure of the dedupe store (Redis) propagates, because it
/// says nothing about the event and must not count as an attempt.
/// </summary>
internal sealed partial class IntegrationEventDispatcher(
    IServiceScopeFactory scopes,
    ProcessedEvents processed,
    EventBusMetrics metrics,
    BackgroundLane backgroundLane,
    TimeProvider time,
    ILogger<IntegrationEventDispatcher> logger)
{
    public async Task<DispatchOutcome> DispatchAsync(EventSubscription subscription, IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        if ((await AlreadyHandledAsync(subscription, [integrationEvent], cancellationToken))[0])
        {
            return DispatchOutcome.Duplicate;
        }

        var outcome = await HandleAsync(subscription, integrationEvent, cancellationToken);
        if (outcome.Status is DispatchStatus.Handled)
        {
            await MarkHandledAsync(subscription, [integrationEvent.Id], cancellationToken);
        }

        return outcome;
    }

    /// <summary>
    /// Which of <paramref name="integrationEvents"/> the group already handled (or that repeat an
    /// earlier event of the list), in their order, in one lookup; each counts as a duplicate. With <see cref="HandleAsync"/> and
    /// <see cref="MarkHandledAsync"/> it lets the Redis Streams worker dedupe a whole read batch with
    /// one lookup and one flight of marks.
    /// </summary>
    public async Task<bool[]> AlreadyHandledAsync(EventSubscription subscription, IReadOnlyList<IntegrationEvent> integrationEvents, CancellationToken cancellationToken)
    {
        var seen = await processed.ContainAsync(subscription.ConsumerGroup, [.. integrationEvents.Select(e => e.Id)], cancellationToken);
        var inThisList = new HashSet<Guid>();
        for (var i = 0; i < seen.Length; i++)
        {
            // A second copy in the same list (the relay published it twice) is a duplicate of the first,
            // which the lookup cannot know yet.
            seen[i] |= !inThisList.Add(integrationEvents[i].Id);
            if (seen[i])
            {
                metrics.Duplicate(subscription.Topic, subscription.ConsumerGroup);
                LogDuplicate(logger, integrationEvents[i].Id, subscription.Topic, subscription.ConsumerGroup);
            }
        }

        return seen;
    }

    /// <summary>Runs the consumers for one event, without the dedupe lookup or mark (the caller does those).</summary>
    public async Task<DispatchOutcome> HandleAsync(EventSubscription subscription, IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        using var activity = StartActivity(subscription, integrationEvent);
        using var logScope = logger.BeginScope(EventLogScope.Of(integrationEvent));
        return await RunConsumerAsync<IIntegrationEventConsumer>(subscription, activity, 1,
            consumer => consumer.HandleAsync(integrationEvent, cancellationToken), cancellationToken) ?? DispatchOutcome.Handled;
    }

    /// <summary>Remembers handled events for the group, in one flight.</summary>
    public Task MarkHandledAsync(EventSubscription subscription, IReadOnlyList<Guid> eventIds, CancellationToken cancellationToken) =>
        eventIds.Count == 0 ? Task.CompletedTask : processed.AddAsync(subscription.ConsumerGroup, eventIds, cancellationToken);

    /// <summary>
    /// The batch path (<see cref="IIntegrationEventBatchConsumer"/>): the group's already-handled ids
    /// are looked up in one flight and skipped, the rest go to the consumer in one scope, and their ids
    /// are remembered in one flight. All or nothing: <see cref="DispatchStatus.Failed"/> means none
    /// of them counts as handled, and the caller goes event by event.
    /// </summary>
    public async Task<DispatchOutcome> DispatchBatchAsync(EventSubscription subscription, IReadOnlyList<IntegrationEvent> integrationEvents, CancellationToken cancellationToken)
    {
        var seen = await AlreadyHandledAsync(subscription, integrationEvents, cancellationToken);
        var fresh = integrationEvents.Where((_, i) => !seen[i]).ToList();
        if (fresh.Count == 0)
        {
            return DispatchOutcome.Duplicate;
        }

        using var activity = StartBatchActivity(subscription, fresh);
        var failure = await RunConsumerAsync<IIntegrationEventBatchConsumer>(subscription, activity, fresh.Count,
            consumer => consumer.HandleBatchAsync(fresh, cancellationToken), cancellationToken);
        if (failure is not null)
        {
            return failure.Value;
        }

        await MarkHandledAsync(subscription, [.. fresh.Select(e => e.Id)], cancellationToken);
        return DispatchOutcome.Handled;
    }

    /// <summary>Runs the consumer in a fresh scope and records the outcome; the failure, or null when it handled the events.</summary>
    private async Task<DispatchOutcome?> RunConsumerAsync<TConsumer>(EventSubscription subscription, Activity? activity, int events,
        Func<TConsumer, Task> handle, CancellationToken cancellationToken)
        where TConsumer : IIntegrationEventConsumer
    {
        var (topic, group) = (subscription.Topic, subscription.ConsumerGroup);
        // Waiting for the lane is not handler time: the duration metric starts once the handler may run.
        using var turn = await backgroundLane.EnterAsync(group, cancellationToken);
        var started = time.GetTimestamp();
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            foreach (var consumerType in subscription.ConsumerTypes)
            {
                await handle((TConsumer)scope.ServiceProvider.GetRequiredService(consumerType));
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.HandlerDuration(topic, group, time.GetElapsedTime(started), succeeded: false);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            return new DispatchOutcome(DispatchStatus.Failed, ex);
        }

        metrics.HandlerDuration(topic, group, time.GetElapsedTime(started), succeeded: true);
        metrics.Consumed(topic, group, events);
        return null;
    }

    // One span for the batch, linked to each event's producer span (OpenTelemetry's convention for
    // batch receives), rather than a child of any one of them.
    private static Activity? StartBatchActivity(EventSubscription subscription, List<IntegrationEvent> integrationEvents)
    {
        if (!EventBusMetrics.ActivitySource.HasListeners())
        {
            return null;
        }

        var links = integrationEvents
            .Select(e => ActivityContext.TryParse(e.TraceParent, null, out var context) ? new ActivityLink(context) : default)
            .Where(l => l.Context != default)
            .ToList();
        var activity = EventBusMetrics.ActivitySource.StartActivity($"{subscription.Topic} process", ActivityKind.Consumer, parentContext: default, links: links);
        activity?.SetTag("messaging.destination.name", subscription.Topic);
        activity?.SetTag("messaging.consumer.group.name", subscription.ConsumerGroup);
        activity?.SetTag("messaging.batch.message_count", integrationEvents.Count);
        return activity;
    }

    private static Activity? StartActivity(EventSubscription subscription, IntegrationEvent integrationEvent)
    {
        var parent = ActivityContext.TryParse(integrationEvent.TraceParent, null, out var context) ? context : default;
        var activity = EventBusMetrics.ActivitySource.StartActivity($"{subscription.Topic} process", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.destination.name", subscription.Topic);
        activity?.SetTag("messaging.consumer.group.name", subscription.ConsumerGroup);
        activity?.SetTag("messaging.message.id", integrationEvent.Id);
        return activity;
    }

    [LoggerMessage(EventId = 6100, Level = LogLevel.Debug, Message = "Event {IntegrationEventId} on {Topic} was already handled by {ConsumerGroup}; skipped")]
    private static partial void LogDuplicate(ILogger logger, Guid integrationEventId, string topic, string consumerGroup);
}
