using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging.Receipts;

/// <summary>
/// Applies delivery's <c>message.status_changed</c> to receipts, monotonically: a status only moves
/// up (accepted → sent → delivered → read), <c>failed</c> is terminal and never overrides a delivery
/// that got further, so duplicated or reordered events cannot move anything backwards. The one way
/// out of <c>failed</c> is an operator's replay: delivery then announces the next status with
/// <c>old_status: failed</c>, which only a replayed delivery ever does. An accepted delivery may be
/// announced again as accepted with an error: a retry is scheduled, and the sender sees why.
/// </summary>
public sealed class StatusChangedConsumer(MessagingDbContext db) : IIntegrationEventConsumer
{
    public async Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        var change = JsonSerializer.Deserialize<MessageStatusChanged>(integrationEvent.Data, OutboxWriter.Json)
            ?? throw new JsonException("Empty message.status_changed event.");
        var status = change.NewStatus;
        if (DeliveryStatuses.Rank(status) < 0)
        {
            throw new JsonException($"Unknown delivery status '{status}'.");
        }

        var replayed = change.OldStatus == DeliveryStatuses.Failed && status != DeliveryStatuses.Failed;
        // One statement: insert, or move forward only. rank() is spelled out as CASE for PostgreSQL.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO messaging.receipts AS r (message_id, recipient_id, channel, status, error, fallback_from, updated_at)
            SELECT {change.MessageId}, {change.RecipientId}, {change.Channel}, {status}, {change.Error}, {change.FallbackFrom}, {change.UpdatedAt}
            WHERE EXISTS (SELECT 1 FROM messaging.messages WHERE message_id = {change.MessageId})
            ON CONFLICT (message_id, recipient_id, channel) DO UPDATE
              SET status = EXCLUDED.status, error = EXCLUDED.error, fallback_from = coalesce(EXCLUDED.fallback_from, r.fallback_from),
                  updated_at = EXCLUDED.updated_at
              WHERE (r.status NOT IN ('read', 'failed')
                AND (CASE EXCLUDED.status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'failed' THEN 4 ELSE 0 END)
                  > (CASE r.status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'failed' THEN 4 ELSE 0 END))
                OR (r.status = 'failed' AND {replayed})
                OR (r.status = 'accepted' AND EXCLUDED.status = 'accepted')
            """, cancellationToken);

        // The message shows the furthest state any delivery reached; failed only if none got anywhere.
        await db.Database.ExecuteSqlAsync($"""
            UPDATE messaging.messages m SET status = agg.status
            FROM (
              SELECT CASE max(CASE status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 0 END)
                       WHEN 3 THEN 'read' WHEN 2 THEN 'delivered' WHEN 1 THEN 'sent'
                       ELSE CASE WHEN bool_and(status = 'failed') THEN 'failed' ELSE 'accepted' END END AS status
              FROM messaging.receipts WHERE message_id = {change.MessageId}
            ) agg
            WHERE m.message_id = {change.MessageId} AND m.status <> agg.status
            """, cancellationToken);
    }
}
