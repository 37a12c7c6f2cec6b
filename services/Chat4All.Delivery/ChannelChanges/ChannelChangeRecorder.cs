using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts.Events;
using Chat4All.Delivery.Data;
using Chat4All.Delivery.Deliveries;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Delivery.ChannelChanges;

/// <summary>
/// Turns a <c>MessageUpdated</c> or <c>MessageDeleted</c> event into one pending
/// <see cref="ChannelChange"/> per delivery of the message, for the <see cref="ChannelChangeWorker"/>
/// to carry out. Only rows are written here, so the conversation's message stream is never held up
/// by a slow or failing provider; a redelivered event finds its rows and adds none.
/// </summary>
public sealed class ChannelChangeRecorder(IStateStore store, DeliveryDbContext db, ChannelChangeWorker worker, TimeProvider time)
{
    // A group's recipients times the five channels, fallbacks included, stays far below this.
    private const int MaxDeliveriesPerMessage = 5000;

    /// <summary>An edit: the new text goes to every channel the message was delivered on.</summary>
    public Task EditedAsync(MessageUpdated updated, CancellationToken cancellationToken) =>
        RecordAsync(updated.MessageId, updated.Seq, ChannelChange.Edit, updated.Payload.Text, cancellationToken);

    /// <summary>A delete: every channel the message was delivered on recalls it.</summary>
    public Task DeletedAsync(MessageDeleted deleted, CancellationToken cancellationToken) =>
        RecordAsync(deleted.MessageId, deleted.Seq, ChannelChange.Recall, null, cancellationToken);

    private async Task RecordAsync(Guid messageId, long seq, string kind, string? text, CancellationToken cancellationToken)
    {
        var deliveries = await store.QueryAsync<DeliveryRecord>("message_id", messageId.ToString(), MaxDeliveriesPerMessage, cancellationToken);
        if (deliveries.Count == 0)
        {
            return; // in-app only, or long gone
        }

        var now = time.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        foreach (var delivery in deliveries.Select(d => d.Value))
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO delivery.channel_changes (delivery_key, change_seq, message_id, conversation_id, recipient_id, channel, kind, text,
                                                      status, attempts, next_attempt_at, created_at, updated_at)
                VALUES ({delivery.Key}, {seq}, {delivery.MessageId}, {delivery.ConversationId}, {delivery.RecipientId}, {delivery.Channel}, {kind},
                        {text}, {ChannelChange.Pending}, 0, {now}, {now}, {now})
                ON CONFLICT DO NOTHING
                """, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        worker.Notify();
    }
}
