using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging.Messages;

/// <summary>A message to store: what the API accepted, or what a channel contact sent (message.inbound).</summary>
internal sealed record NewMessage(
    Guid MessageId,
    Guid ConversationId,
    Guid SenderId,
    IReadOnlyList<Guid> Recipients,
    MessagePayload Payload,
    IReadOnlyList<string> Channels,
    string Priority,
    string? FallbackChannel,
    string? IdempotencyKey,
    string RequestHash,
    DateTimeOffset CreatedAt);

internal static class MessageWriter
{
    /// <summary>
    /// Stores a message in one statement — so one implicit transaction and one round trip (the
    /// bench showed the send path is round-trip bound): takes the next seq under the conversation's
    /// row lock (gap-free, since a failed statement gives it back), moves the sender's read position
    /// (sending implies having read), inserts the message and its message.created outbox row.
    /// Returns the seq. A message id or idempotency key that exists already raises the unique
    /// violation, and nothing is written.
    /// </summary>
    public static async Task<long> InsertAsync(MessagingDbContext db, NewMessage message, CancellationToken cancellationToken)
    {
        var (id, conversationId, sender, payload, now) = (message.MessageId, message.ConversationId, message.SenderId, message.Payload, message.CreatedAt);
        // seq is not known until the statement runs; the event carries 0 and the statement sets it.
        var created = OutboxWriter.Create(Topics.MessageCreated, conversationId.ToString(), new MessageCreated(id, conversationId, 0, sender,
            message.Recipients, payload, message.Channels, message.Priority, now, message.FallbackChannel), now);
        return await db.Database.SqlQuery<long>($$"""
            WITH next AS (
              UPDATE messaging.conversations SET last_seq = last_seq + 1, updated_at = {{now}}
              WHERE conversation_id = {{conversationId}} RETURNING last_seq),
            reader AS (
              UPDATE messaging.conversation_members SET last_read_seq = (SELECT last_seq FROM next)
              WHERE conversation_id = {{conversationId}} AND user_id = {{sender}}),
            message AS (
              INSERT INTO messaging.messages (message_id, conversation_id, seq, sender_id, payload_type, text, file_id,
                channels, priority, fallback_channel, status, idempotency_key, request_hash, created_at)
              SELECT {{id}}, {{conversationId}}, last_seq, {{sender}}, {{payload.Type}}, {{payload.Text}}::text, {{payload.FileId}}::uuid,
                {{message.Channels.ToArray()}}, {{message.Priority}}, {{message.FallbackChannel}}::text, {{DeliveryStatuses.Accepted}},
                {{message.IdempotencyKey}}::text, {{message.RequestHash}}, {{now}}
              FROM next
              RETURNING seq),
            event AS (
              INSERT INTO messaging.outbox (event_id, topic, type, partition_key, bucket, payload, traceparent, created_at, attempts, next_attempt_at)
              SELECT {{created.EventId}}, {{created.Topic}}, {{created.Type}}, {{created.PartitionKey}}, {{created.Bucket}},
                jsonb_set({{created.Payload}}::jsonb, '{seq}', to_jsonb(seq)), {{created.TraceParent}}::text, {{now}}, 0, {{now}}
              FROM message)
            SELECT seq AS "Value" FROM message
            """).ToListAsync(cancellationToken) is [var seq] ? seq : throw new InvalidOperationException("The conversation vanished mid-send.");
    }
}
