using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Event-bus instruments (meter <c>Chat4All.EventBus</c>, picked up by the <c>Chat4All.*</c>
/// telemetry wildcard), the same for both adapters so dashboards do not depend on the runtime.
/// </summary>
internal sealed class EventBusMetrics
{
    public const string MeterName = "Chat4All.EventBus";

    /// <summary>Consumer spans, parented to the publisher's traceparent so a flow reads as one trace.</summary>
    public static readonly ActivitySource ActivitySource = new(MeterName);

    private readonly Counter<long> _published;
    private readonly Counter<long> _consumed;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _retried;
    private readonly Counter<long> _deadLettered;
    private readonly Histogram<double> _handlerDuration;

    public EventBusMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _published = meter.CreateCounter<long>("chat4all.eventbus.published", description: "Events accepted by the broker");
        _consumed = meter.CreateCounter<long>("chat4all.eventbus.consumed", description: "Events handled successfully");
        _duplicates = meter.CreateCounter<long>("chat4all.eventbus.duplicates", description: "Deliveries skipped because the event id was already handled");
        _retried = meter.CreateCounter<long>("chat4all.eventbus.retried", description: "Failed handler attempts that will be retried");
        _deadLettered = meter.CreateCounter<long>("chat4all.eventbus.dead_lettered", description: "Events moved to a dead-letter stream after their last attempt");
        _handlerDuration = meter.CreateHistogram<double>("chat4all.eventbus.handler.duration", unit: "s", description: "Consumer handler duration");
    }

    public void Published(string topic) => _published.Add(1, Tag("topic", topic));

    public void Consumed(string topic, string group, int count = 1) => _consumed.Add(count, Tag("topic", topic), Tag("group", group));

    public void Duplicate(string topic, string group) => _duplicates.Add(1, Tag("topic", topic), Tag("group", group));

    public void Retried(string topic, string group) => _retried.Add(1, Tag("topic", topic), Tag("group", group));

    public void DeadLettered(string topic, string group) => _deadLettered.Add(1, Tag("topic", topic), Tag("group", group));

    public void HandlerDuration(string topic, string group, TimeSpan elapsed, bool succeeded) =>
        _handlerDuration.Record(elapsed.TotalSeconds, Tag("topic", topic), Tag("group", group), Tag("outcome", succeeded ? "success" : "failure"));

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);
}
