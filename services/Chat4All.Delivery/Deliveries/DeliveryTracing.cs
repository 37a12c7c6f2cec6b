using System.Diagnostics;

namespace Chat4All.Delivery.Deliveries;

/// <summary>
/// Delivery's spans. An attempt runs long after the consumer that created the record (the dispatcher
/// schedules it), so the record carries the trace it belongs to (<see cref="DeliveryRecord.TraceParent"/>)
/// and every span of the delivery continues that trace: the attempt, the provider call inside it, and
/// the processing of the provider's webhook, which arrives as a request of its own (providers do not
/// propagate our trace) and is linked to that request. The status events written under these spans
/// carry the trace on through the outbox.
/// </summary>
public static class DeliveryTracing
{
    public static readonly ActivitySource Source = new("Chat4All.Delivery");

    public static Activity? StartAttempt(DeliveryRecord record)
    {
        var activity = Source.StartActivity("delivery attempt", ActivityKind.Internal, Parent(record));
        Tag(activity, record);
        activity?.SetTag("chat4all.delivery.attempt", record.Attempts);
        return activity;
    }

    public static Activity? StartProviderCall(DeliveryRecord record)
    {
        var activity = Source.StartActivity($"{record.Channel} send", ActivityKind.Client);
        Tag(activity, record);
        return activity;
    }

    public static Activity? StartReport(DeliveryRecord record, string status)
    {
        var request = Activity.Current?.Context;
        var activity = Source.StartActivity($"{record.Channel} report {status}", ActivityKind.Internal, Parent(record),
            links: request is { } context ? [new ActivityLink(context)] : null);
        Tag(activity, record);
        activity?.SetTag("chat4all.delivery.status", status);
        return activity;
    }

    private static ActivityContext Parent(DeliveryRecord record) =>
        ActivityContext.TryParse(record.TraceParent, null, out var context) ? context : default;

    private static void Tag(Activity? activity, DeliveryRecord record)
    {
        activity?.SetTag("chat4all.channel", record.Channel);
        activity?.SetTag("chat4all.delivery.id", record.DeliveryId);
        activity?.SetTag("chat4all.message.id", record.MessageId);
    }
}
