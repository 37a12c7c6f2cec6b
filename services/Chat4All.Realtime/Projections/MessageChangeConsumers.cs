using System.Text.Json;
using Chat4All.Contracts.Events;
using Chat4All.Contracts.Realtime;
using Chat4All.Realtime.Data;
using Chat4All.Realtime.Fanout;
using Microsoft.EntityFrameworkCore;
using Chat4All.Contracts;

namespace Chat4All.Realtime.Projections;

/// <summary>
/// Edits and deletes, which come on the conversation's message stream after the message they change
/// (docs/adr/0045): each is logged at its own seq, so <c>resume</c> replays it, then sent to every
/// member. A deletion also removes the message's content from the frames logged before it (the
/// original and its edits), so a replay shows the tombstone, not the deleted text.
/// </summary>
internal static class MessageChanges
{
    private static readonly string[] PayloadText = ["payload", "text"];
    private static readonly string[] PayloadFileId = ["payload", "file_id"];

    public static Task UpdatedAsync(RealtimeDbContext db, ConversationMembersCache membersCache, RealtimeFanout fanout, TimeProvider time,
        MessageUpdated updated, CancellationToken cancellationToken)
    {
        var data = JsonSerializer.Serialize(new MessageUpdatedData(updated.MessageId, updated.ConversationId, updated.Seq, updated.MessageSeq,
            updated.SenderId, updated.Payload, updated.EditedAt), ContractJson.Options);
        return LogAndPublishAsync(db, membersCache, fanout, time, FrameTypes.MessageUpdated, updated.ConversationId, updated.Seq, updated.MessageId,
            data, updated.EditedAt, cancellationToken);
    }

    public static async Task DeletedAsync(RealtimeDbContext db, ConversationMembersCache membersCache, RealtimeFanout fanout, TimeProvider time,
        MessageDeleted deleted, CancellationToken cancellationToken)
    {
        var data = JsonSerializer.Serialize(new MessageDeletedData(deleted.MessageId, deleted.ConversationId, deleted.Seq, deleted.MessageSeq,
            deleted.SenderId, deleted.DeletedAt), ContractJson.Options);
        // jsonb_set leaves an entry without a payload as it is; a redelivered deletion scrubs again, harmlessly.
        await db.Database.ExecuteSqlAsync($"""
            UPDATE realtime.message_log
            SET data = jsonb_set(jsonb_set(data, {PayloadText}, 'null'::jsonb, false), {PayloadFileId}, 'null'::jsonb, false)
            WHERE conversation_id = {deleted.ConversationId} AND message_id = {deleted.MessageId} AND seq < {deleted.Seq}
            """, cancellationToken);
        await LogAndPublishAsync(db, membersCache, fanout, time, FrameTypes.MessageDeleted, deleted.ConversationId, deleted.Seq, deleted.MessageId,
            data, deleted.DeletedAt, cancellationToken);
    }

    private static async Task LogAndPublishAsync(RealtimeDbContext db, ConversationMembersCache membersCache, RealtimeFanout fanout,
        TimeProvider time, string frameType, Guid conversationId, long seq, Guid messageId, string data, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO realtime.message_log (conversation_id, seq, message_id, frame_type, data, created_at)
            VALUES ({conversationId}, {seq}, {messageId}, {frameType}, {data}::jsonb, {at})
            ON CONFLICT DO NOTHING
            """, cancellationToken);
        var members = await membersCache.OfAsync(db, conversationId, cancellationToken);
        await fanout.PublishAsync(members, Frames.SerializeRaw(frameType, data, time.GetUtcNow()), conversationId, seq);
    }
}
