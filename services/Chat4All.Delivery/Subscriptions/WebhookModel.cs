using Microsoft.EntityFrameworkCore;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>The tables of outbound webhooks in delivery's schema.</summary>
internal static class WebhookModel
{
    public static void AddWebhookSubscriptions(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<WebhookSubscription>(s =>
        {
            s.ToTable("webhook_subscriptions");
            s.HasKey(x => x.Id);
            s.Property(x => x.Id).HasColumnName("id");
            s.Property(x => x.TenantId).HasColumnName("tenant_id");
            s.Property(x => x.OwnerId).HasColumnName("owner_id");
            s.Property(x => x.Scope).HasColumnName("scope").HasMaxLength(16);
            s.Property(x => x.Url).HasColumnName("url").HasMaxLength(WebhookTargetPolicy.MaxUrlLength);
            s.Property(x => x.Events).HasColumnName("events");
            s.Property(x => x.Secret).HasColumnName("secret").HasMaxLength(200);
            s.Property(x => x.Status).HasColumnName("status").HasMaxLength(16);
            s.Property(x => x.ConsecutiveFailures).HasColumnName("consecutive_failures");
            s.Property(x => x.FailingSince).HasColumnName("failing_since");
            s.Property(x => x.DisabledReason).HasColumnName("disabled_reason").HasMaxLength(1000);
            s.Property(x => x.DisabledAt).HasColumnName("disabled_at");
            s.Property(x => x.CreatedAt).HasColumnName("created_at");
            // Fan-out looks up a tenant's active subscriptions for every event.
            s.HasIndex(x => new { x.TenantId, x.Status });
            s.HasIndex(x => x.OwnerId);
        });

        modelBuilder.Entity<WebhookDelivery>(d =>
        {
            d.ToTable("webhook_deliveries");
            d.HasKey(x => x.Id);
            d.Property(x => x.Id).HasColumnName("id");
            d.Property(x => x.Position).HasColumnName("position").UseIdentityByDefaultColumn();
            d.Property(x => x.SubscriptionId).HasColumnName("subscription_id");
            d.Property(x => x.EventId).HasColumnName("event_id");
            d.Property(x => x.EventType).HasColumnName("event_type").HasMaxLength(100);
            d.Property(x => x.OrderingKey).HasColumnName("ordering_key").HasMaxLength(200);
            d.Property(x => x.ConversationId).HasColumnName("conversation_id");
            d.Property(x => x.Body).HasColumnName("body");
            d.Property(x => x.Status).HasColumnName("status").HasMaxLength(16);
            d.Property(x => x.Attempts).HasColumnName("attempts");
            d.Property(x => x.NextAttemptAt).HasColumnName("next_attempt_at");
            d.Property(x => x.ClaimedUntil).HasColumnName("claimed_until");
            d.Property(x => x.LastError).HasColumnName("last_error").HasMaxLength(1000);
            d.Property(x => x.LastResponseCode).HasColumnName("last_response_code");
            d.Property(x => x.CreatedAt).HasColumnName("created_at");
            d.Property(x => x.DeliveredAt).HasColumnName("delivered_at");
            d.HasOne<WebhookSubscription>().WithMany().HasForeignKey(x => x.SubscriptionId).OnDelete(DeleteBehavior.Cascade);
            // A redelivered event finds its row instead of making a second one.
            d.HasIndex(x => new { x.SubscriptionId, x.EventId }).IsUnique();
            // The sender's heads: the first pending delivery of each (subscription, ordering key).
            d.HasIndex(x => new { x.SubscriptionId, x.OrderingKey, x.Position }).HasFilter("status = 'pending'").HasDatabaseName("ix_webhook_deliveries_pending");
            // The delivery log, newest first.
            d.HasIndex(x => new { x.SubscriptionId, x.Position });
        });

        modelBuilder.Entity<WebhookConversation>(c =>
        {
            c.ToTable("webhook_conversations");
            c.HasKey(x => x.ConversationId);
            c.Property(x => x.ConversationId).HasColumnName("conversation_id");
            c.Property(x => x.TenantId).HasColumnName("tenant_id");
            c.Property(x => x.Members).HasColumnName("members");
        });

        modelBuilder.Entity<WebhookUser>(u =>
        {
            u.ToTable("webhook_users");
            u.HasKey(x => x.UserId);
            u.Property(x => x.UserId).HasColumnName("user_id");
            u.Property(x => x.TenantId).HasColumnName("tenant_id");
        });
    }
}
