using Chat4All.BuildingBlocks.Outbox;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Delivery.ChannelChanges;
using Chat4All.Delivery.Subscriptions;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Delivery.Data;

/// <summary>
/// Delivery's relational data (schema <c>delivery</c>): where users can be reached, which delivery a
/// provider's message id belongs to, and the dead letters operators list and replay. The delivery records themselves live in the state store
/// (in the standalone runtime its KV table and outbox are mapped here too, so a record and its
/// status event commit in one transaction).
/// </summary>
public sealed class DeliveryDbContext(DbContextOptions<DeliveryDbContext> options) : DbContext(options)
{
    public const string Schema = "delivery";

    public DbSet<ChannelAddress> ChannelAddresses => Set<ChannelAddress>();

    public DbSet<DeadLetter> DeadLetters => Set<DeadLetter>();

    public DbSet<ProviderMessage> ProviderMessages => Set<ProviderMessage>();

    public DbSet<WebhookSubscription> WebhookSubscriptions => Set<WebhookSubscription>();

    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();

    public DbSet<WebhookConversation> WebhookConversations => Set<WebhookConversation>();

    public DbSet<WebhookUser> WebhookUsers => Set<WebhookUser>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.AddStateStore();
        modelBuilder.AddOutbox();

        modelBuilder.Entity<ChannelAddress>(a =>
        {
            a.ToTable("channel_addresses");
            a.HasKey(x => new { x.UserId, x.Channel });
            a.Property(x => x.UserId).HasColumnName("user_id");
            a.Property(x => x.Channel).HasColumnName("channel").HasMaxLength(16);
            a.Property(x => x.Address).HasColumnName("address").HasMaxLength(100);
            a.Property(x => x.UpdatedAt).HasColumnName("updated_at");
            a.Property(x => x.Position).HasColumnName("position");
            // One owner per address and channel: an inbound message must name exactly one user.
            a.HasIndex(x => new { x.Channel, x.Address }).IsUnique();
        });

        modelBuilder.Entity<ProviderMessage>(p =>
        {
            p.ToTable("provider_messages");
            p.HasKey(x => new { x.Channel, x.ProviderMessageId });
            p.Property(x => x.Channel).HasColumnName("channel").HasMaxLength(16);
            p.Property(x => x.ProviderMessageId).HasColumnName("provider_message_id").HasMaxLength(200);
            p.Property(x => x.DeliveryKey).HasColumnName("delivery_key").HasMaxLength(200);
            p.Property(x => x.CreatedAt).HasColumnName("created_at");
        });

        modelBuilder.Entity<DeadLetter>(d =>
        {
            d.ToTable("dead_letters");
            d.HasKey(x => x.DeliveryId);
            d.Property(x => x.DeliveryId).HasColumnName("delivery_id");
            d.Property(x => x.Key).HasColumnName("key").HasMaxLength(200);
            d.Property(x => x.MessageId).HasColumnName("message_id");
            d.Property(x => x.ConversationId).HasColumnName("conversation_id");
            d.Property(x => x.RecipientId).HasColumnName("recipient_id");
            d.Property(x => x.Channel).HasColumnName("channel").HasMaxLength(16);
            d.Property(x => x.Attempts).HasColumnName("attempts");
            d.Property(x => x.Reason).HasColumnName("reason").HasMaxLength(1000);
            d.Property(x => x.DeadLetteredAt).HasColumnName("dead_lettered_at");
            d.Property(x => x.ReplayedAt).HasColumnName("replayed_at");
            d.Property(x => x.ReplayedBy).HasColumnName("replayed_by");
            // The operator's list: open dead letters, newest first.
            d.HasIndex(x => new { x.DeadLetteredAt, x.DeliveryId }).HasFilter("replayed_at IS NULL").HasDatabaseName("ix_dead_letters_open");
        });

        modelBuilder.AddWebhookSubscriptions();
        modelBuilder.AddChannelChanges();
    }
}

/// <summary>Where a user can be reached on one channel (a WhatsApp number, an Instagram handle, ...).</summary>
public sealed class ChannelAddress
{
    public Guid UserId { get; init; }

    public required string Channel { get; init; }

    public required string Address { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The user's preference: default routing tries their addresses by ascending position (then channel name).</summary>
    public int Position { get; set; }
}

/// <summary>Finds a delivery from the id its provider gave the message: webhooks carry only that.</summary>
public sealed class ProviderMessage
{
    public required string Channel { get; init; }

    public required string ProviderMessageId { get; init; }

    public required string DeliveryKey { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A delivery that failed for good, kept for operators until replayed.</summary>
public sealed class DeadLetter
{
    public Guid DeliveryId { get; init; }

    public required string Key { get; init; }

    public Guid MessageId { get; init; }

    public Guid ConversationId { get; init; }

    public Guid RecipientId { get; init; }

    public required string Channel { get; init; }

    public int Attempts { get; set; }

    public required string Reason { get; set; }

    public DateTimeOffset DeadLetteredAt { get; set; }

    public DateTimeOffset? ReplayedAt { get; set; }

    public Guid? ReplayedBy { get; set; }
}
