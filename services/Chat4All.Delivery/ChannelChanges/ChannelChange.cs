using Microsoft.EntityFrameworkCore;

namespace Chat4All.Delivery.ChannelChanges;

/// <summary>
/// An edit or delete of a message to carry out on one of its deliveries (table
/// <c>delivery.channel_changes</c>): one row per delivery and change, keyed by the change's seq, so a
/// redelivered event adds nothing. <see cref="Status"/> is <see cref="Pending"/> until the change is
/// done, then its outcome (a <c>Chat4All.Contracts.ChannelChangeOutcomes</c> value, or
/// <see cref="NotSent"/>).
/// </summary>
public sealed class ChannelChange
{
    public const string Pending = "pending";

    /// <summary>The delivery never reached its provider (it failed, or is gone): there is nothing to change there.</summary>
    public const string NotSent = "not_sent";

    public const string Edit = "edit";
    public const string Recall = "recall";

    public required string DeliveryKey { get; init; }

    /// <summary>The change's seq in the conversation: changes of one delivery are carried out in this order.</summary>
    public long ChangeSeq { get; init; }

    public Guid MessageId { get; init; }

    public Guid ConversationId { get; init; }

    public Guid RecipientId { get; init; }

    public required string Channel { get; init; }

    /// <summary><see cref="Edit"/> or <see cref="Recall"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>The new text of an edit.</summary>
    public string? Text { get; init; }

    public required string Status { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>The instance run that is carrying the change out, until <see cref="ClaimedUntil"/>.</summary>
    public Guid? ClaimToken { get; set; }

    public DateTimeOffset? ClaimedUntil { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }
}

public static class ChannelChangesModel
{
    public const string Table = "channel_changes";

    /// <summary>Finished changes leave after the rule's age, by their last update; pending ones never do.</summary>
    public static BuildingBlocks.Retention.RetentionRule FinishedRetention { get; } =
        BuildingBlocks.Retention.RetentionRules.Where<Data.DeliveryDbContext>(BuildingBlocks.Retention.RetentionRules.ChannelChanges, Table,
            $"status <> '{ChannelChange.Pending}' AND updated_at < {{0}}");

    public static ModelBuilder AddChannelChanges(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ChannelChange>(c =>
        {
            c.ToTable(Table);
            c.HasKey(x => new { x.DeliveryKey, x.ChangeSeq });
            c.Property(x => x.DeliveryKey).HasColumnName("delivery_key").HasMaxLength(200);
            c.Property(x => x.ChangeSeq).HasColumnName("change_seq");
            c.Property(x => x.MessageId).HasColumnName("message_id");
            c.Property(x => x.ConversationId).HasColumnName("conversation_id");
            c.Property(x => x.RecipientId).HasColumnName("recipient_id");
            c.Property(x => x.Channel).HasColumnName("channel").HasMaxLength(16);
            c.Property(x => x.Kind).HasColumnName("kind").HasMaxLength(16);
            c.Property(x => x.Text).HasColumnName("text");
            c.Property(x => x.Status).HasColumnName("status").HasMaxLength(32);
            c.Property(x => x.Attempts).HasColumnName("attempts");
            c.Property(x => x.NextAttemptAt).HasColumnName("next_attempt_at");
            c.Property(x => x.ClaimToken).HasColumnName("claim_token");
            c.Property(x => x.ClaimedUntil).HasColumnName("claimed_until");
            c.Property(x => x.LastError).HasColumnName("last_error").HasMaxLength(1000);
            c.Property(x => x.CreatedAt).HasColumnName("created_at");
            c.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            // The worker's queue: pending changes by due time.
            c.HasIndex(x => x.NextAttemptAt).HasFilter("status = 'pending'").HasDatabaseName("ix_channel_changes_pending");
            c.HasIndex(x => x.MessageId).HasDatabaseName("ix_channel_changes_message");
        });
        return modelBuilder;
    }
}
