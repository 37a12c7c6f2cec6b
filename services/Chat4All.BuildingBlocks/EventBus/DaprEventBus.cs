using System.Net.Mime;
using System.Text;
using Chat4All.Contracts;
using Dapr.Client;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>Metadata keys the Dapr adapter sets on publish and reads on delivery.</summary>
internal static class DaprMetadata
{
    /// <summary>Kafka uses it as the record key, so one key's events share a partition and keep their order.</summary>
    public const string PartitionKey = "partitionKey";

    // Dapr overrides these CloudEvent attributes from publish metadata. The id override is what lets
    // every consumer dedupe on our event id rather than on a sidecar-generated one.
    public const string CloudEventId = "cloudevent.id";
    public const string CloudEventType = "cloudevent.type";
    public const string CloudEventTraceParent = "cloudevent.traceparent";

    /// <summary>Kafka record key as Dapr forwards it to HTTP subscribers (a request header).</summary>
    public const string KafkaKeyHeader = "__key";

    /// <summary>
    /// Azure Service Bus's names for the same key (case-sensitive; components-contrib
    /// <c>pubsub/azure/servicebus</c>): the session that keeps one key's events in order, and the partition,
    /// which must equal the session on a partitioned entity. Other brokers ignore them (Kafka carries them as headers).
    /// </summary>
    public const string ServiceBusSessionId = "SessionId";
    public const string ServiceBusPartitionKey = "PartitionKey";

    /// <summary>CloudEvent extension attribute for the partition key (extension names are lower-case).</summary>
    public const string PartitionKeyExtension = "partitionkey";
}

/// <summary>
/// Dapr publisher: the event's JSON goes to the <see cref="Components.PubSub"/> component byte for
/// byte (as <c>application/json</c>, so the sidecar embeds it as the CloudEvent's <c>data</c>), with
/// the partition key and our id, type and traceparent as CloudEvent overrides. Returns once the
/// sidecar accepted it; throws (DaprException) otherwise.
/// </summary>
internal sealed class DaprEventBus(DaprClient dapr, EventBusMetrics metrics) : IEventBus
{
    public async Task PublishAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [DaprMetadata.CloudEventId] = integrationEvent.Id.ToString("D"),
            [DaprMetadata.CloudEventType] = integrationEvent.Type,
        };
        if (integrationEvent.PartitionKey.Length > 0)
        {
            metadata[DaprMetadata.PartitionKey] = integrationEvent.PartitionKey;
            metadata[DaprMetadata.ServiceBusSessionId] = integrationEvent.PartitionKey;
            metadata[DaprMetadata.ServiceBusPartitionKey] = integrationEvent.PartitionKey;
        }

        if (!string.IsNullOrEmpty(integrationEvent.TraceParent))
        {
            metadata[DaprMetadata.CloudEventTraceParent] = integrationEvent.TraceParent;
        }

        await dapr.PublishByteEventAsync(Components.PubSub, integrationEvent.Topic, Encoding.UTF8.GetBytes(integrationEvent.Data),
            MediaTypeNames.Application.Json, metadata, cancellationToken);
        metrics.Published(integrationEvent.Topic);
    }
}
