using System.Diagnostics;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Producer spans: one per publish, a child of the operation that caused the event (the traceparent
/// it carries), and the parent of every consumer span — the event leaves carrying the producer
/// span's id, so a trace reads request → publish → process across the bus, in both runtimes.
/// </summary>
public static class EventBusTracing
{
    public static Activity? StartPublish(IntegrationEvent integrationEvent)
    {
        var parent = ActivityContext.TryParse(integrationEvent.TraceParent, null, out var context) ? context : default;
        var activity = EventBusMetrics.ActivitySource.StartActivity($"{integrationEvent.Topic} publish", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.destination.name", integrationEvent.Topic);
        activity?.SetTag("messaging.message.id", integrationEvent.Id);
        return activity;
    }

    /// <summary>
    /// The current span as a W3C <c>traceparent</c>, to carry on an event, a record or an envelope that
    /// outlives it; null without a span, or with one in the legacy hierarchical id format.
    /// </summary>
    public static string? CurrentTraceParent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;

    /// <summary>The event as it goes out: its traceparent names <paramref name="producer"/> when there is one.</summary>
    public static IntegrationEvent Carrying(this IntegrationEvent integrationEvent, Activity? producer) =>
        producer?.IdFormat == ActivityIdFormat.W3C ? integrationEvent with { TraceParent = producer.Id } : integrationEvent;
}
