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
    TimeProvider time,
    ILogger<IntegrationEventDispatcher> logger)
{
    public async Task<DispatchOutcome> DispatchAsync(EventSubscription subscription, IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        var (topic, group) = (subscription.Topic, subscription.ConsumerGroup);
        if (await processed.ContainsAsync(group, integrationEvent.Id, cancellationToken))
        {
            metrics.Duplicate(topic, group);
            LogDuplicate(logger, integrationEvent.Id, topic, group);
            return DispatchOutcome.Duplicate;
        }

        using var activity = StartActivity(subscription, integrationEvent);
        using var logScope = logger.BeginScope(EventLogScope.Of(integrationEvent));
        var started = time.GetTimestamp();
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            foreach (var consumerType in subscription.ConsumerTypes)
            {
                var consumer = (IIntegrationEventConsumer)scope.ServiceProvider.GetRequiredService(consumerType);
                await consumer.HandleAsync(integrationEvent, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.HandlerDuration(topic, group, time.GetElapsedTime(started), succeeded: false);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            return new DispatchOutcome(DispatchStatus.Failed, ex);
        }

        metrics.HandlerDuration(topic, group, time.GetElapsedTime(started), succeeded: true);
        metrics.Consumed(topic, group);
        await processed.AddAsync(group, integrationEvent.Id, cancellationToken);
        return DispatchOutcome.Handled;
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
