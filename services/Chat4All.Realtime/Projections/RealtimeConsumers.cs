using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Contracts.Realtime;
using Chat4All.Realtime.Data;
using Chat4All.Realtime.Fanout;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Realtime.Projections;

/// <summary>Who is in a conversation, from <c>conversation.created</c> (members never change afterwards).</summary>
public sealed class ConversationCreatedConsumer(RealtimeDbContext db) : IIntegrationEventConsumer<ConversationCreated>
{
    public Task HandleAsync(IntegrationEvent envelope, ConversationCreated created, CancellationToken cancellationToken) =>
        Memberships.EnsureAsync(db, created.ConversationId, created.Members, cancellationToken);
}

/// <summary>
/// Logs the frame for resume, then pushes it to every member's sockets. The log row is written
/// before the publish, so anything a client receives live is already there for a later resume.
/// Edits and deletes share the topic, in seq order, and are handled by <see cref="MessageChanges"/>.
/// </summary>
public sealed class MessageCreatedConsumer(RealtimeDbContext db, ConversationMembersCache membersCache, RealtimeFanout fanout, TimeProvider time)
    : IIntegrationEventConsumer<MessageCreated>, IIntegrationEventConsumer<MessageUpdated>, IIntegrationEventConsumer<MessageDeleted>
{
    Task IIntegrationEventConsumer.HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken) =>
        integrationEvent.RouteAsync(this, cancellationToken);

    public Task HandleAsync(IntegrationEvent envelope, MessageUpdated updated, CancellationToken cancellationToken) =>
        MessageChanges.UpdatedAsync(db, membersCache, fanout, time, updated, cancellationToken);

    public Task HandleAsync(IntegrationEvent envelope, MessageDeleted deleted, CancellationToken cancellationToken) =>
        MessageChanges.DeletedAsync(db, membersCache, fanout, time, deleted, cancellationToken);

    public async Task HandleAsync(IntegrationEvent envelope, MessageCreated created, CancellationToken cancellationToken)
    {
        List<Guid> members = [created.SenderId, .. created.Recipients];
        var data = JsonSerializer.Serialize(new MessageCreatedData(created.MessageId, created.ConversationId, created.Seq, created.SenderId,
            created.Payload, created.Channels, DeliveryStatuses.Accepted, created.CreatedAt), ContractJson.Options);
        // One statement, so one round trip and one commit: the members (events of different topics are
        // not ordered, so this may arrive before conversation.created), who wrote to whom (presence
        // visibility) and the log entry for resumes.
        var users = members.Distinct().ToArray();
        var recipients = created.Recipients.Distinct().Where(r => r != created.SenderId).ToArray();
        await db.Database.ExecuteSqlAsync($"""
            WITH members AS (
                INSERT INTO realtime.memberships (conversation_id, user_id)
                SELECT {created.ConversationId}, u FROM unnest({users}) AS u
                ON CONFLICT DO NOTHING),
            correspondences AS (
                INSERT INTO realtime.correspondences (sender_id, recipient_id)
                SELECT {created.SenderId}, r FROM unnest({recipients}) AS r
                ON CONFLICT DO NOTHING)
            INSERT INTO realtime.message_log (conversation_id, seq, message_id, data, created_at)
            VALUES ({created.ConversationId}, {created.Seq}, {created.MessageId}, {data}::jsonb, {created.CreatedAt})
            ON CONFLICT DO NOTHING
            """, cancellationToken);
        await fanout.PublishAsync(members, Frames.SerializeRaw(FrameTypes.MessageCreated, data, time.GetUtcNow()), created.ConversationId, created.Seq);
    }
}

/// <summary>A member's read position, to every member (the reader's other devices included).</summary>
public sealed class ConversationReadConsumer(RealtimeDbContext db, ConversationMembersCache membersCache, RealtimeFanout fanout, TimeProvider time)
    : IIntegrationEventConsumer<ConversationRead>
{
    public async Task HandleAsync(IntegrationEvent envelope, ConversationRead read, CancellationToken cancellationToken)
    {
        var members = await membersCache.OfAsync(db, read.ConversationId, cancellationToken);
        await fanout.PublishAsync(members, Frames.Serialize(FrameTypes.ConversationRead,
            new ConversationReadData(read.ConversationId, read.UserId, read.ReadUpToSeq, read.ReadAt),
            time.GetUtcNow()), read.ConversationId);
    }
}

/// <summary>
/// Delivery progress, to every member of the conversation — the sender above all. A retry notice
/// (accepted → accepted) is not news. A read batch shares one scope and one member lookup per
/// conversation; the frames keep the batch's order.
/// </summary>
public sealed class StatusChangedConsumer(RealtimeDbContext db, ConversationMembersCache membersCache, RealtimeFanout fanout, TimeProvider time)
    : IIntegrationEventBatchConsumer<MessageStatusChanged>
{
    public async Task HandleBatchAsync(IReadOnlyList<ReceivedEvent<MessageStatusChanged>> integrationEvents, CancellationToken cancellationToken)
    {
        var changes = integrationEvents.Select(e => e.Data).Where(c => c.OldStatus != c.NewStatus).ToList();
        var members = new Dictionary<Guid, IReadOnlyList<Guid>>();
        var publishes = new List<Task>(changes.Count);
        foreach (var change in changes)
        {
            if (!members.TryGetValue(change.ConversationId, out var audience))
            {
                members[change.ConversationId] = audience = await membersCache.OfAsync(db, change.ConversationId, cancellationToken);
            }

            // Issued in order and awaited together: one connection keeps each user's channel in order.
            publishes.Add(fanout.PublishAsync(audience, Frames.Serialize(FrameTypes.MessageStatusUpdated, new MessageStatusUpdatedData(change.MessageId,
                change.ConversationId, change.RecipientId, change.Channel, change.OldStatus, change.NewStatus, change.UpdatedAt, change.Error),
                time.GetUtcNow()), change.ConversationId));
        }

        await Task.WhenAll(publishes);
    }
}

/// <summary>A user's presence, to everyone they have exchanged a message with (docs/adr/0028).</summary>
public sealed class PresenceChangedConsumer(RealtimeDbContext db, RealtimeFanout fanout, TimeProvider time) : IIntegrationEventConsumer<PresenceChanged>
{
    public async Task HandleAsync(IntegrationEvent envelope, PresenceChanged changed, CancellationToken cancellationToken)
    {
        var contacts = await Memberships.CorrespondentsOfAsync(db, changed.UserId, cancellationToken);
        await fanout.PublishAsync(contacts, Frames.Serialize(FrameTypes.PresenceChanged,
            new PresenceChangedData(changed.UserId, changed.Status, changed.LastSeenAt), time.GetUtcNow()));
    }
}

/// <summary>
/// Members per conversation, kept in memory: a status change is ten to thirty events per message, and
/// a query for the same members on each was the realtime consumer's largest cost. Each projection
/// writes all of a conversation's members in one statement, so a non-empty list read back is
/// complete and can be kept; an empty one (the conversation is not projected yet) is not. A group's
/// membership change drops the entry on every instance (<see cref="MembersCacheInvalidation"/>).
/// Bounded: past <see cref="Capacity"/> conversations it starts over.
/// </summary>
public sealed class ConversationMembersCache
{
    public const int Capacity = 100_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, IReadOnlyList<Guid>> _members = new();

    /// <summary>Drops this instance's entry; the next read goes to the database.</summary>
    public void Forget(Guid conversationId) => _members.TryRemove(conversationId, out _);

    public async Task<IReadOnlyList<Guid>> OfAsync(RealtimeDbContext db, Guid conversationId, CancellationToken cancellationToken)
    {
        if (_members.TryGetValue(conversationId, out var cached))
        {
            return cached;
        }

        var members = await Memberships.OfAsync(db, conversationId, cancellationToken);
        if (members.Count > 0)
        {
            if (_members.Count >= Capacity)
            {
                _members.Clear();
            }

            _members[conversationId] = members;
        }

        return members;
    }
}

internal static class Memberships
{
    public static async Task EnsureAsync(RealtimeDbContext db, Guid conversationId, IEnumerable<Guid> members, CancellationToken cancellationToken)
    {
        var users = members.Distinct().ToArray();
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO realtime.memberships (conversation_id, user_id)
            SELECT {conversationId}, u FROM unnest({users}) AS u
            ON CONFLICT DO NOTHING
            """, cancellationToken);
    }

    public static Task<List<Guid>> OfAsync(RealtimeDbContext db, Guid conversationId, CancellationToken cancellationToken) =>
        db.Memberships.AsNoTracking().Where(m => m.ConversationId == conversationId && m.LeftAtSeq == null).Select(m => m.UserId).ToListAsync(cancellationToken);

    /// <summary>
    /// Who may see <paramref name="userId"/>'s presence: the people they have exchanged a message with,
    /// each having sent the other at least one. Sharing a conversation, or writing to someone who never
    /// answered, is not enough.
    /// </summary>
    public static Task<List<Guid>> CorrespondentsOfAsync(RealtimeDbContext db, Guid userId, CancellationToken cancellationToken) =>
        db.Correspondences.AsNoTracking()
            .Where(c => c.SenderId == userId && db.Correspondences.Any(back => back.SenderId == c.RecipientId && back.RecipientId == userId))
            .Select(c => c.RecipientId).ToListAsync(cancellationToken);
}
