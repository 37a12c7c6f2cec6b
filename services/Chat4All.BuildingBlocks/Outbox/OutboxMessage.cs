using Microsoft.EntityFrameworkCore;

namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>
/// An integration event committed in the same transaction as the state change that caused it;
/// <see cref="OutboxRelay{TContext}"/> publishes it afterwards. Each service maps the table into
/// its own schema with <see cref="OutboxModel.AddOutbox"/>.
/// </summary>
public sealed class OutboxMessage
{
    /// <summary>Insertion order; for one partition key it is the order of the facts.</summary>
    public long Position { get; init; }

    public Guid EventId { get; init; }

    public required string Topic { get; init; }

    public required string Type { get; init; }

    public required string PartitionKey { get; init; }

    /// <summary>A relay owns a bucket exclusively while it works on it, which keeps per-key order with several relays.</summary>
    public int Bucket { get; init; }

    public required string Payload { get; init; }

    public string? TraceParent { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset? PublishedAt { get; set; }

    /// <summary>Set when the event went to the dead-letter topic instead of its own.</summary>
    public DateTimeOffset? DeadLetteredAt { get; set; }

    public string? LastError { get; set; }
}

public static class OutboxModel
{
    public const string TableName = "outbox";

    public static ModelBuilder AddOutbox(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<OutboxMessage>(o =>
        {
            o.ToTable(TableName);
            o.HasKey(x => x.Position);
            o.Property(x => x.Position).HasColumnName("position").UseIdentityAlwaysColumn();
            o.Property(x => x.EventId).HasColumnName("event_id");
            o.Property(x => x.Topic).HasColumnName("topic").HasMaxLength(100);
            o.Property(x => x.Type).HasColumnName("type").HasMaxLength(100);
            o.Property(x => x.PartitionKey).HasColumnName("partition_key").HasMaxLength(100);
            o.Property(x => x.Bucket).HasColumnName("bucket");
            o.Property(x => x.Payload).HasColumnName("payload").HasColumnType("jsonb");
            o.Property(x => x.TraceParent).HasColumnName("traceparent").HasMaxLength(55);
            o.Property(x => x.CreatedAt).HasColumnName("created_at");
            o.Property(x => x.Attempts).HasColumnName("attempts");
            o.Property(x => x.NextAttemptAt).HasColumnName("next_attempt_at");
            o.Property(x => x.PublishedAt).HasColumnName("published_at");
            o.Property(x => x.DeadLetteredAt).HasColumnName("dead_lettered_at");
            o.Property(x => x.LastError).HasColumnName("last_error");
            o.HasIndex(x => x.EventId).IsUnique();
            // The relay's scan: pending rows of a bucket, in order.
            o.HasIndex(x => new { x.Bucket, x.Position }).HasFilter("published_at IS NULL").HasDatabaseName("ix_outbox_pending");
        });
        return modelBuilder;
    }
}
