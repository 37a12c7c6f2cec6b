using System.Diagnostics;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>Adds events to the outbox of a DbContext; they commit with the caller's SaveChanges (or SQL).</summary>
public static class OutboxWriter
{
    /// <summary>Fixed forever: rows carry their bucket, and relays lock buckets by number.</summary>
    public const int Buckets = 32;

    public static OutboxMessage Enqueue<TEvent>(this DbContext db, string topic, string partitionKey, TEvent integrationEvent, DateTimeOffset now)
        where TEvent : notnull
    {
        var message = Create(topic, partitionKey, integrationEvent, now);
        db.Set<OutboxMessage>().Add(message);
        return message;
    }

    /// <summary>The outbox row for an event, for callers that insert it with their own SQL.</summary>
    public static OutboxMessage Create<TEvent>(string topic, string partitionKey, TEvent integrationEvent, DateTimeOffset now)
        where TEvent : notnull =>
        new()
        {
            EventId = Guid.CreateVersion7(now),
            Topic = topic,
            Type = typeof(TEvent).Name,
            PartitionKey = partitionKey,
            Bucket = BucketOf(partitionKey),
            Payload = JsonSerializer.Serialize(integrationEvent, ContractJson.Options),
            TraceParent = EventBusTracing.CurrentTraceParent(),
            CreatedAt = now,
            NextAttemptAt = now,
        };

    public static int BucketOf(string partitionKey) => PartitionHash.Bucket(partitionKey, Buckets);
}
