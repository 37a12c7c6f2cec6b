using System.Text.Json;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.StateStore;

/// <summary>
/// The rules every <see cref="IStateStore.ExecuteAsync"/> call must meet, checked the same way by
/// both adapters before anything is written. Most of them are what Dapr's outbox can express; the
/// standalone adapter could do more, but a transaction that only works there would fail (or silently
/// lose an event) in the dapr runtime.
/// </summary>
internal static class StateTransaction
{
    /// <summary>Dapr's separator between app id and key; the sidecar rejects keys containing it.</summary>
    private const string DaprKeySeparator = "||";

    /// <exception cref="ArgumentException">A malformed operation, or an event without exactly one upsert to ride on.</exception>
    /// <exception cref="InvalidOperationException">An event for a topic other than <paramref name="outboxTopic"/>.</exception>
    public static void Validate(IReadOnlyList<StateOperation> operations, IReadOnlyList<StateEvent> events, string outboxTopic)
    {
        ArgumentNullException.ThrowIfNull(operations);
        ArgumentNullException.ThrowIfNull(events);

        var upserted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var operation in operations)
        {
            ArgumentNullException.ThrowIfNull(operation, nameof(operations));
            ValidateKey(operation.Key, nameof(operations));
            switch (operation)
            {
                case StateUpsert { OnlyIfAbsent: true, ETag: not null }:
                    throw new ArgumentException($"The upsert of '{operation.Key}' is only-if-absent and also carries an ETag; use one or the other.", nameof(operations));
                case StateUpsert upsert:
                    ArgumentNullException.ThrowIfNull(upsert.Value, nameof(operations));
                    upserted.Add(upsert.Key);
                    break;
                case StateDelete:
                    break;
                default:
                    throw new ArgumentException($"Unknown state operation {operation.GetType().Name}.", nameof(operations));
            }
        }

        var withEvent = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stateEvent in events)
        {
            ArgumentNullException.ThrowIfNull(stateEvent, nameof(events));
            // Dapr publishes an event as the outbox projection of its key's upsert: no upsert, no event;
            // and of several projections of one key it publishes only the first.
            if (!upserted.Contains(stateEvent.Key))
            {
                throw new ArgumentException(
                    $"Event {stateEvent.EventId} belongs to key '{stateEvent.Key}', which no StateUpsert of this transaction writes.", nameof(events));
            }

            if (!withEvent.Add(stateEvent.Key))
            {
                throw new ArgumentException($"Key '{stateEvent.Key}' has more than one event; a state write carries at most one.", nameof(events));
            }

            if (!string.Equals(stateEvent.Topic, outboxTopic, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"Event {stateEvent.EventId} is for topic '{stateEvent.Topic}', but the state store publishes only to '{outboxTopic}' " +
                    "(the statestore component's outboxPublishTopic, Chat4All:StateStore:OutboxTopic).");
            }
        }

        // Dapr's outbox publishes every upsert of a transaction: one without a projection would put
        // the raw state value on the topic. So every write is a fact, announced with its event.
        if (upserted.FirstOrDefault(key => !withEvent.Contains(key)) is { } silent)
        {
            throw new ArgumentException(
                $"The upsert of '{silent}' carries no event; Dapr's outbox would publish its state value as one, so every upsert needs its event.",
                nameof(events));
        }
    }

    public static T Deserialize<T>(ReadOnlySpan<byte> json, string key) =>
        JsonSerializer.Deserialize<T>(json, ContractJson.Options) is { } value
            ? value
            : throw new JsonException($"State '{key}' holds JSON null.");

    public static T Deserialize<T>(string json, string key) =>
        JsonSerializer.Deserialize<T>(json, ContractJson.Options) is { } value
            ? value
            : throw new JsonException($"State '{key}' holds JSON null.");

    private static void ValidateKey(string key, string parameterName)
    {
        if (string.IsNullOrEmpty(key) || key.Length > StateModel.MaxKeyLength || key.Contains(DaprKeySeparator, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"State key '{key}' must be 1–{StateModel.MaxKeyLength} characters without '{DaprKeySeparator}'.", parameterName);
        }
    }
}
