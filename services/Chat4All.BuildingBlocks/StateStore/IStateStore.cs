using System.Text.Json;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.StateStore;

/// <summary>A stored value with the ETag that guards the next write to it.</summary>
public sealed record StateItem<T>(string Key, T Value, string ETag);

/// <summary>One write in a <see cref="IStateStore.ExecuteAsync"/> transaction.</summary>
public abstract record StateOperation(string Key);

/// <summary>
/// Writes <paramref name="Value"/> (serialized as snake_case JSON) under <paramref name="Key"/>.
/// <paramref name="ETag"/> null: create or overwrite. An ETag: only if the stored item still has it.
/// <paramref name="OnlyIfAbsent"/>: only if no item exists (first write wins; ETag must be null).
/// </summary>
public sealed record StateUpsert(string Key, object Value, string? ETag = null, bool OnlyIfAbsent = false) : StateOperation(Key);

/// <summary>Removes <paramref name="Key"/>; with an ETag only if the stored item still has it.</summary>
public sealed record StateDelete(string Key, string? ETag = null) : StateOperation(Key);

/// <summary>
/// An integration event committed with the state transaction and published afterwards (the
/// outbox). <paramref name="Key"/> names the state operation it belongs to — Dapr publishes it as
/// that operation's outbox projection, so every event needs an upsert of the same key in the same
/// transaction. <paramref name="Data"/> is the event as snake_case JSON.
/// </summary>
public sealed record StateEvent(string Key, Guid EventId, string Topic, string Type, string PartitionKey, string Data)
{
    public static StateEvent Create<TEvent>(string key, string topic, string partitionKey, TEvent integrationEvent, DateTimeOffset now)
        where TEvent : notnull =>
        new(key, Guid.CreateVersion7(now), topic, typeof(TEvent).Name, partitionKey, JsonSerializer.Serialize(integrationEvent, ContractJson.Options));
}

/// <summary>An ETag or only-if-absent condition did not hold; nothing of the transaction was written.</summary>
public sealed class StateConcurrencyException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// The state-store-with-outbox port (docs/architecture.md §3): key-value state whose transactions also
/// carry integration events, committed atomically with the state and published at least once.
/// a PostgreSQL KV table plus the service's EF outbox and relay, in both runtimes; in the dapr runtime
/// the relay publishes through Dapr pub/sub (ADR 0016 — not Dapr's state-store outbox).
/// Values are (de)serialized with <see cref="ContractJson.Options"/> (snake_case).
/// </summary>
public interface IStateStore
{
    Task<StateItem<T>?> GetAsync<T>(string key, CancellationToken cancellationToken);

    /// <summary>The items that exist among <paramref name="keys"/>, in no particular order.</summary>
    Task<IReadOnlyList<StateItem<T>>> GetManyAsync<T>(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> items whose value has the top-level JSON string field
    /// <paramref name="field"/> equal to <paramref name="value"/> — enough for a service to find its
    /// unfinished work after a crash (a jsonb query on the service's own table, in both runtimes).
    /// </summary>
    Task<IReadOnlyList<StateItem<T>>> QueryAsync<T>(string field, string value, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Applies every operation and enqueues every event in one transaction, or nothing at all:
    /// a failed condition throws <see cref="StateConcurrencyException"/>.
    /// </summary>
    Task ExecuteAsync(IReadOnlyList<StateOperation> operations, IReadOnlyList<StateEvent> events, CancellationToken cancellationToken);
}
