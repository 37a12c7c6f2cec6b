using Microsoft.EntityFrameworkCore;
using Chat4All.Contracts;

namespace Chat4All.BuildingBlocks.StateStore;

/// <summary>
/// One key of the standalone state store. Each service maps the table into its own schema with
/// <see cref="StateModel.AddStateStore"/>, next to its outbox, so a state transaction and its events
/// commit in one PostgreSQL transaction.
/// </summary>
public sealed class StateEntry
{
    public required string Key { get; init; }

    /// <summary>The value as snake_case JSON (<see cref="Outbox.ContractJson.Options"/>).</summary>
    public required string Value { get; init; }

    /// <summary>
    /// A fresh random number on every write; the ETag handed to callers is its decimal text. Random
    /// rather than a counter: a counter restarts when a key is deleted and written again, so an
    /// ETag read before the delete could match the new item.
    /// </summary>
    public long ETag { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }
}

public static class StateModel
{
    public const string TableName = "state";

    /// <summary>Longest key the table takes; both adapters refuse longer ones, so code behaves alike in either runtime.</summary>
    public const int MaxKeyLength = 400;

    public static ModelBuilder AddStateStore(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<StateEntry>(s =>
        {
            s.ToTable(TableName);
            s.HasKey(x => x.Key);
            s.Property(x => x.Key).HasColumnName("key").HasMaxLength(MaxKeyLength);
            s.Property(x => x.Value).HasColumnName("value").HasColumnType("jsonb");
            s.Property(x => x.ETag).HasColumnName("etag");
            s.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            // IStateStore.QueryAsync is a containment query (value @> {"field": "value"}).
            s.HasIndex(x => x.Value).HasMethod("gin").HasOperators("jsonb_path_ops").HasDatabaseName("ix_state_value");
        });
        return modelBuilder;
    }
}
