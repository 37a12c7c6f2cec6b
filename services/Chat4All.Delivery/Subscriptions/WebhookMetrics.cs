using System.Diagnostics.Metrics;
using Chat4All.Delivery.Deliveries;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>Outbound webhook instruments, on delivery's meter (<c>Chat4All.Delivery</c>).</summary>
public sealed class WebhookMetrics
{
    private readonly Counter<long> _enqueued;
    private readonly Counter<long> _unroutable;
    private readonly Counter<long> _attempts;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _disabled;

    public WebhookMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(DeliveryMetrics.MeterName);
        _enqueued = meter.CreateCounter<long>("chat4all.webhooks.deliveries.enqueued", description: "Webhook deliveries created, by event type");
        _unroutable = meter.CreateCounter<long>("chat4all.webhooks.events.unroutable", description: "Events whose tenant webhooks did not know, by event type");
        _attempts = meter.CreateCounter<long>("chat4all.webhooks.attempts", description: "Webhook sends by outcome (succeeded, failed)");
        _duration = meter.CreateHistogram<double>("chat4all.webhooks.attempt.duration", unit: "s", description: "Webhook send latency, until the receiver's status line");
        _disabled = meter.CreateCounter<long>("chat4all.webhooks.subscriptions.disabled", description: "Subscriptions disabled after failing continuously");
        // Born at 0, so Prometheus' increase() sees the first disable (see DeliveryMetrics' dead letters).
        _disabled.Add(0);
    }

    public void Enqueued(string eventType, int count) => _enqueued.Add(count, new KeyValuePair<string, object?>("event_type", eventType));

    public void Unroutable(string eventType) => _unroutable.Add(1, new KeyValuePair<string, object?>("event_type", eventType));

    public void Attempted(bool succeeded, TimeSpan duration)
    {
        _attempts.Add(1, new KeyValuePair<string, object?>("outcome", succeeded ? "succeeded" : "failed"));
        _duration.Record(duration.TotalSeconds);
    }

    public void Disabled() => _disabled.Add(1);
}
