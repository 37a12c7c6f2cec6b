using System.Text;
using System.Text.Json;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Dapr.Client;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.StateStore;

/// <summary>
/// Dapr adapter: the <see cref="Components.StateStore"/> component (state.postgresql with
/// <c>outboxPublishPubsub</c>). Values travel as UTF-8 JSON bytes (<see cref="OutboxWriter.Json"/>),
/// so the stored state reads the same as in the standalone table. Each event rides as the outbox
/// projection of its key's upsert, right after it, carrying our event id, type and partition key.
/// </summary>
/// <remarks>
/// Dapr's outbox publishes every upsert of the transaction to <see cref="StateStoreOptions.OutboxTopic"/>
/// — the projection where there is one, otherwise the state value itself. An upsert without an event
/// therefore still reaches that topic in this runtime (not in standalone); callers give every upsert
/// an event. Deletes are not published.
/// </remarks>
internal sealed class DaprStateStore(DaprClient dapr, IOptions<StateStoreOptions> options) : IStateStore
{
    /// <summary>
    /// What the sidecar says when a condition fails inside a transaction. daprd answers a failed
    /// ExecuteStateTransaction with INTERNAL and the store's error text (ETag errors get ABORTED only
    /// from SaveState/DeleteState), so the text is all there is to go on.
    /// </summary>
    private static readonly string[] ConditionFailures =
    [
        "possible etag mismatch", // state.ETagError (any store): the ETag did not match
        "no item was updated", // state.postgresql: first-write without ETag on an existing key
    ];

    public async Task<StateItem<T>?> GetAsync<T>(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var (value, etag) = await dapr.GetByteStateAndETagAsync(Components.StateStore, key, cancellationToken: cancellationToken);
        return value.IsEmpty ? null : new StateItem<T>(key, StateTransaction.Deserialize<T>(value.Span, key), etag);
    }

    public async Task<IReadOnlyList<StateItem<T>>> GetManyAsync<T>(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        var items = await dapr.GetBulkStateAsync(Components.StateStore, [.. keys.Distinct(StringComparer.Ordinal)], parallelism: null,
            cancellationToken: cancellationToken);
        // The sidecar answers every requested key; a missing one comes back without data.
        return [.. items
            .Where(i => !string.IsNullOrEmpty(i.Value))
            .Select(i => new StateItem<T>(i.Key, StateTransaction.Deserialize<T>(i.Value, i.Key), i.ETag))];
    }

    /// <summary>
    /// The state query API (alpha in Dapr 1.18; state.postgresql v1 supports it): an EQ filter on a
    /// top-level field of the JSON value, one page of <paramref name="limit"/>.
    /// </summary>
    public async Task<IReadOnlyList<StateItem<T>>> QueryAsync<T>(string field, string value, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var query = JsonSerializer.Serialize(new
        {
            filter = new Dictionary<string, object> { ["EQ"] = new Dictionary<string, string> { [field] = value } },
            page = new { limit },
        });
        StateQueryResponse<JsonElement> response;
        try
        {
            response = await dapr.QueryStateAsync<JsonElement>(Components.StateStore, query, cancellationToken: cancellationToken);
        }
        catch (StateQueryException<JsonElement> partial)
        {
            // Some items could not be read; the others are still there to be found.
            response = partial.Response;
        }

        return [.. response.Results
            .Where(r => string.IsNullOrEmpty(r.Error))
            .Select(r => new StateItem<T>(r.Key, StateTransaction.Deserialize<T>(r.Data.GetRawText(), r.Key), r.ETag))];
    }

    public async Task ExecuteAsync(IReadOnlyList<StateOperation> operations, IReadOnlyList<StateEvent> events, CancellationToken cancellationToken)
    {
        StateTransaction.Validate(operations, events, options.Value.OutboxTopic);
        if (operations.Count == 0)
        {
            return;
        }

        var eventsByKey = events.ToDictionary(e => e.Key, StringComparer.Ordinal);
        var requests = new List<StateTransactionRequest>(operations.Count + events.Count);
        foreach (var operation in operations)
        {
            switch (operation)
            {
                case StateUpsert upsert:
                    requests.Add(new StateTransactionRequest(upsert.Key, JsonSerializer.SerializeToUtf8Bytes(upsert.Value, OutboxWriter.Json),
                        StateOperationType.Upsert, upsert.ETag, options: Condition(upsert.ETag, upsert.OnlyIfAbsent)));
                    if (eventsByKey.Remove(upsert.Key, out var stateEvent))
                    {
                        requests.Add(Projection(stateEvent));
                    }

                    break;
                case StateDelete delete:
                    requests.Add(new StateTransactionRequest(delete.Key, null, StateOperationType.Delete, delete.ETag,
                        options: Condition(delete.ETag, onlyIfAbsent: false)));
                    break;
            }
        }

        try
        {
            await dapr.ExecuteStateTransactionAsync(Components.StateStore, requests, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (IsConditionFailure(ex))
        {
            throw new StateConcurrencyException("A state condition did not hold; the sidecar applied none of the transaction.", ex);
        }
    }

    // An ETag is only checked under first-write concurrency; without one, first-write means "only if absent".
    private static StateOptions? Condition(string? etag, bool onlyIfAbsent) =>
        etag is not null || onlyIfAbsent ? new StateOptions { Concurrency = ConcurrencyMode.FirstWrite } : null;

    private static StateTransactionRequest Projection(StateEvent stateEvent) =>
        new(stateEvent.Key, Encoding.UTF8.GetBytes(stateEvent.Data), StateOperationType.Upsert, metadata: new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [DaprOutboxMetadata.Projection] = DaprOutboxMetadata.ProjectionEnabled,
            [DaprOutboxMetadata.CloudEventId] = stateEvent.EventId.ToString("D"),
            [DaprOutboxMetadata.CloudEventType] = stateEvent.Type,
            [EventBus.DaprMetadata.PartitionKey] = stateEvent.PartitionKey,
        });

    /// <summary>
    /// ABORTED is Dapr's status for an ETag mismatch; INTERNAL/UNKNOWN only with a store's condition
    /// text. FAILED_PRECONDITION is deliberately not one: daprd uses it for "state store not
    /// configured", which must surface as the misconfiguration it is, not as a retryable conflict.
    /// </summary>
    private static bool IsConditionFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is RpcException rpc)
            {
                return rpc.StatusCode == StatusCode.Aborted
                    || (rpc.StatusCode is StatusCode.Internal or StatusCode.Unknown
                        && ConditionFailures.Any(text => rpc.Status.Detail.Contains(text, StringComparison.OrdinalIgnoreCase)));
            }
        }

        return false;
    }
}
