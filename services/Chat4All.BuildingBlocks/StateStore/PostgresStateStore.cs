using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Outbox;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.StateStore;

/// <summary>
/// Standalone adapter: the <c>state</c> table of the service's own DbContext (mapped by
/// <see cref="StateModel.AddStateStore"/>), written in one PostgreSQL transaction together with the
/// outbox rows of its events, which <see cref="OutboxRelay{TContext}"/> then publishes. Conditions are
/// checked by the writes themselves (<c>WHERE etag = …</c>, <c>ON CONFLICT DO NOTHING</c>), so they
/// hold under concurrent writers without locks; the first one that matches no row rolls everything back.
/// </summary>
internal sealed class PostgresStateStore<TContext>(TContext db, OutboxSignal signal, TimeProvider time, IOptions<StateStoreOptions> options)
    : IStateStore
    where TContext : DbContext
{
    private Statements? _statements;

    public async Task<StateItem<T>?> GetAsync<T>(string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var entry = await db.Set<StateEntry>().AsNoTracking().SingleOrDefaultAsync(e => e.Key == key, cancellationToken);
        return entry is null ? null : ToItem<T>(entry);
    }

    public async Task<IReadOnlyList<StateItem<T>>> GetManyAsync<T>(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        // One array parameter (key = ANY(@keys)) rather than one parameter per key: a single plan
        // whatever the count.
        var wanted = keys.Distinct(StringComparer.Ordinal).ToArray();
        var entries = await db.Set<StateEntry>().AsNoTracking()
            .Where(e => EF.Parameter(wanted).Contains(e.Key))
            .ToListAsync(cancellationToken);
        return entries.ConvertAll(ToItem<T>);
    }

    public async Task<IReadOnlyList<StateItem<T>>> QueryAsync<T>(string field, string value, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        // Containment (value @> {"field": "value"}) is what the table's jsonb_path_ops GIN index serves.
        var filter = JsonSerializer.Serialize(new Dictionary<string, string> { [field] = value });
        var entries = await db.Set<StateEntry>().AsNoTracking()
            .Where(e => EF.Functions.JsonContains(e.Value, filter))
            .OrderBy(e => e.Key)
            .Take(limit)
            .ToListAsync(cancellationToken);
        return entries.ConvertAll(ToItem<T>);
    }

    public async Task ExecuteAsync(IReadOnlyList<StateOperation> operations, IReadOnlyList<StateEvent> events, CancellationToken cancellationToken)
    {
        StateTransaction.Validate(operations, events, options.Value.OutboxTopic);
        if (operations.Count == 0)
        {
            return;
        }

        var sql = _statements ??= Statements.For(db);
        var now = time.GetUtcNow();
        var traceParent = EventBusTracing.CurrentTraceParent();
        // Every write of the transaction goes in one batch (one round trip, however many operations);
        // the conditions are checked on each statement's row count before the commit.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch((NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction)transaction.GetDbTransaction());
        var conditional = new List<(NpgsqlBatchCommand Command, StateOperation Operation)>();
        foreach (var operation in operations)
        {
            var (command, hasCondition) = operation switch
            {
                StateUpsert upsert => UpsertCommand(sql, upsert, now),
                StateDelete delete => DeleteCommand(sql, delete),
                _ => throw new UnreachableException(),
            };
            if (command is null)
            {
                throw Conflict(operation); // an ETag this store never issued: nothing was sent yet
            }

            batch.BatchCommands.Add(command);
            if (hasCondition)
            {
                conditional.Add((command, operation));
            }
        }

        foreach (var stateEvent in events)
        {
            batch.BatchCommands.Add(Command(sql.InsertOutbox,
                stateEvent.EventId, stateEvent.Topic, stateEvent.Type, stateEvent.PartitionKey, OutboxWriter.BucketOf(stateEvent.PartitionKey),
                stateEvent.Data, new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)traceParent ?? DBNull.Value }, now));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        if (conditional.FirstOrDefault(c => c.Command.RecordsAffected != 1) is { Operation: { } failed })
        {
            // Leaving without a commit rolls back every write of the batch.
            throw Conflict(failed);
        }

        await transaction.CommitAsync(cancellationToken);
        if (events.Count > 0)
        {
            signal.Notify<TContext>();
        }
    }

    private static StateConcurrencyException Conflict(StateOperation operation) =>
        new(operation is StateUpsert { OnlyIfAbsent: true }
            ? $"State '{operation.Key}' already exists; nothing of the transaction was written."
            : $"The ETag of state '{operation.Key}' is not current; nothing of the transaction was written.");

    /// <summary>The statement for <paramref name="upsert"/> and whether its row count is a condition; no statement for an ETag this store never issued.</summary>
    private static (NpgsqlBatchCommand? Command, bool HasCondition) UpsertCommand(Statements sql, StateUpsert upsert, DateTimeOffset now)
    {
        var json = JsonSerializer.Serialize(upsert.Value, ContractJson.Options);
        if (upsert.OnlyIfAbsent)
        {
            return (Command(sql.InsertIfAbsent, upsert.Key, json, NewETag(), now), true);
        }

        if (upsert.ETag is null)
        {
            return (Command(sql.Upsert, upsert.Key, json, NewETag(), now), false);
        }

        return TryParseETag(upsert.ETag, out var etag) ? (Command(sql.UpdateIfETag, upsert.Key, json, NewETag(), now, etag), true) : (null, true);
    }

    private static (NpgsqlBatchCommand? Command, bool HasCondition) DeleteCommand(Statements sql, StateDelete delete)
    {
        if (delete.ETag is null)
        {
            return (Command(sql.Delete, delete.Key), false);
        }

        return TryParseETag(delete.ETag, out var etag) ? (Command(sql.DeleteIfETag, delete.Key, etag), true) : (null, true);
    }

    /// <summary>A statement with positional parameters ($1, $2, …) in the order given.</summary>
    private static NpgsqlBatchCommand Command(string text, params object[] values)
    {
        var command = new NpgsqlBatchCommand(text);
        foreach (var value in values)
        {
            command.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        }

        return command;
    }

    // An ETag this store never issued cannot be current: a conflict, like a stale one.
    private static bool TryParseETag(string etag, out long value) =>
        long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static long NewETag() =>
        BinaryPrimitives.ReadInt64LittleEndian(RandomNumberGenerator.GetBytes(sizeof(long))) & long.MaxValue;

    private static StateItem<T> ToItem<T>(StateEntry entry) =>
        new(entry.Key, StateTransaction.Deserialize<T>(entry.Value, entry.Key), entry.ETag.ToString(CultureInfo.InvariantCulture));

    /// <summary>The write statements, with table names from TContext's model (its schema), never from input.</summary>
    private sealed record Statements(string Upsert, string InsertIfAbsent, string UpdateIfETag, string Delete, string DeleteIfETag, string InsertOutbox)
    {
        public static Statements For(DbContext db)
        {
            var sql = db.GetService<ISqlGenerationHelper>();
            var state = TableOf<StateEntry>(db, sql, "AddStateStore()");
            var outbox = TableOf<OutboxMessage>(db, sql, "AddOutbox()");
            const string Insert = "(key, value, etag, updated_at) VALUES ($1, $2::jsonb, $3, $4)";
            return new Statements(
                Upsert: $"INSERT INTO {state} {Insert} ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, etag = EXCLUDED.etag, updated_at = EXCLUDED.updated_at",
                InsertIfAbsent: $"INSERT INTO {state} {Insert} ON CONFLICT (key) DO NOTHING",
                UpdateIfETag: $"UPDATE {state} SET value = $2::jsonb, etag = $3, updated_at = $4 WHERE key = $1 AND etag = $5",
                Delete: $"DELETE FROM {state} WHERE key = $1",
                DeleteIfETag: $"DELETE FROM {state} WHERE key = $1 AND etag = $2",
                InsertOutbox: $"INSERT INTO {outbox} (event_id, topic, type, partition_key, bucket, payload, traceparent, created_at, attempts, next_attempt_at) " +
                    "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, 0, $8)");
        }

        private static string TableOf<TEntity>(DbContext db, ISqlGenerationHelper sql, string mapping)
        {
            var entity = db.Model.FindEntityType(typeof(TEntity))
                ?? throw new InvalidOperationException(
                    $"{db.GetType().Name} does not map {typeof(TEntity).Name}; call modelBuilder.{mapping} in its OnModelCreating.");
            return sql.DelimitIdentifier(entity.GetTableName()!, entity.GetSchema());
        }
    }
}
