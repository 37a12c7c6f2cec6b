using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>How an <see cref="IntegrationEvent"/> is laid out as the fields of a stream entry.</summary>
internal static class RedisStreamEntries
{
    public const string Id = "id";
    public const string Type = "type";
    public const string PartitionKey = "partition_key";
    public const string Data = "data";
    public const string OccurredAt = "occurred_at";
    public const string TraceParent = "traceparent";

    // Added when an entry is dead-lettered.
    public const string Error = "error";
    public const string FailedAt = "failed_at";
    public const string Attempts = "attempts";
    public const string ConsumerGroup = "consumer_group";

    public static NameValueEntry[] Encode(IntegrationEvent integrationEvent)
    {
        var fields = new List<NameValueEntry>(6)
        {
            new(Id, integrationEvent.Id.ToString("D")),
            new(Type, integrationEvent.Type),
            new(PartitionKey, integrationEvent.PartitionKey),
            new(Data, integrationEvent.Data),
            new(OccurredAt, integrationEvent.OccurredAt.ToString("O", CultureInfo.InvariantCulture)),
        };
        if (!string.IsNullOrEmpty(integrationEvent.TraceParent))
        {
            fields.Add(new NameValueEntry(TraceParent, integrationEvent.TraceParent));
        }

        return [.. fields];
    }

    /// <summary>Rebuilds the event; false (with the reason) when the entry was not written by this bus.</summary>
    public static bool TryDecode(string topic, StreamEntry entry, [NotNullWhen(true)] out IntegrationEvent? integrationEvent, [NotNullWhen(false)] out string? error)
    {
        var fields = new Dictionary<string, RedisValue>(StringComparer.Ordinal);
        foreach (var field in entry.Values)
        {
            fields.TryAdd(field.Name.ToString(), field.Value);
        }

        integrationEvent = null;
        if (!fields.TryGetValue(Id, out var id) || !Guid.TryParse(id.ToString(), out var eventId))
        {
            error = "Malformed stream entry: missing or invalid 'id'.";
            return false;
        }

        if (!fields.TryGetValue(Data, out var data) || !fields.TryGetValue(Type, out var type))
        {
            error = "Malformed stream entry: missing 'type' or 'data'.";
            return false;
        }

        if (!fields.TryGetValue(OccurredAt, out var occurredAtText) ||
            !DateTimeOffset.TryParse(occurredAtText.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var occurredAt))
        {
            error = "Malformed stream entry: missing or invalid 'occurred_at'.";
            return false;
        }

        var partitionKey = fields.TryGetValue(PartitionKey, out var key) ? key.ToString() : string.Empty;
        var traceParent = fields.TryGetValue(TraceParent, out var trace) ? trace.ToString() : null;
        integrationEvent = new IntegrationEvent(eventId, topic, type.ToString(), partitionKey, data.ToString(), occurredAt, traceParent);
        error = null;
        return true;
    }
}
