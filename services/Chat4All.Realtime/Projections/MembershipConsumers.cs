using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Redis;
using Chat4All.Contracts.Conversations;
using Chat4All.Contracts.Events;
using Chat4All.Contracts.Realtime;
using Chat4All.Realtime.Data;
using Chat4All.Realtime.Fanout;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Realtime.Projections;

/// <summary>
/// New members of a group: they become members here (again, if they had left), every instance
/// forgets the cached member list, and every member — the new ones included — gets the frame.
/// </summary>
public sealed class MemberAddedConsumer(RealtimeDbContext db, MembersCacheInvalidation invalidation, RealtimeFanout fanout, TimeProvider time)
    : IIntegrationEventConsumer<ConversationMemberAdded>
{
    public async Task HandleAsync(IntegrationEvent envelope, ConversationMemberAdded added, CancellationToken cancellationToken)
    {
        var users = added.UserIds.Distinct().ToArray();
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO realtime.memberships (conversation_id, user_id)
            SELECT {added.ConversationId}, u FROM unnest({users}) AS u
            ON CONFLICT (conversation_id, user_id) DO UPDATE SET left_at_seq = NULL
            """, cancellationToken);
        await invalidation.ChangedAsync(added.ConversationId);
        await fanout.PublishMembershipAsync(added.Members.Union(users), Frames.Serialize(FrameTypes.ConversationMemberAdded,
            new ConversationMemberAddedData(added.ConversationId, added.UserIds, added.AddedBy, added.AddedAt), time.GetUtcNow()), added.ConversationId, joined: users);
    }
}

/// <summary>
/// A member left or was removed: the membership keeps its <c>left_at_seq</c> (so a late
/// <c>message.created</c> cannot bring them back), every instance forgets the cached member list,
/// and the remaining members and the one who left get the frame — after which that user's open
/// sockets drop every later frame of the conversation.
/// </summary>
public sealed class MemberRemovedConsumer(RealtimeDbContext db, MembersCacheInvalidation invalidation, RealtimeFanout fanout, TimeProvider time)
    : IIntegrationEventConsumer<ConversationMemberRemoved>
{
    public async Task HandleAsync(IntegrationEvent envelope, ConversationMemberRemoved removed, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO realtime.memberships (conversation_id, user_id, left_at_seq)
            VALUES ({removed.ConversationId}, {removed.UserId}, {removed.LeftAtSeq})
            ON CONFLICT (conversation_id, user_id) DO UPDATE SET left_at_seq = excluded.left_at_seq
            """, cancellationToken);
        await invalidation.ChangedAsync(removed.ConversationId);
        await fanout.PublishMembershipAsync(removed.Members.Append(removed.UserId), Frames.Serialize(FrameTypes.ConversationMemberRemoved,
            new ConversationMemberRemovedData(removed.ConversationId, removed.UserId, removed.RemovedBy, removed.LeftAtSeq, removed.RemovedAt),
            time.GetUtcNow()), removed.ConversationId, left: removed.UserId, leftAtSeq: removed.LeftAtSeq);
    }
}

/// <summary>A group's new name or description, to its members.</summary>
public sealed class ConversationUpdatedConsumer(RealtimeDbContext db, ConversationMembersCache membersCache, RealtimeFanout fanout, TimeProvider time)
    : IIntegrationEventConsumer<ConversationUpdated>
{
    public async Task HandleAsync(IntegrationEvent envelope, ConversationUpdated updated, CancellationToken cancellationToken)
    {
        var members = await membersCache.OfAsync(db, updated.ConversationId, cancellationToken);
        await fanout.PublishAsync(members, Frames.Serialize(FrameTypes.ConversationUpdated,
            new ConversationUpdatedData(updated.ConversationId, new ConversationMetadata(updated.Name, updated.Description), updated.UpdatedBy,
                updated.UpdatedAt), time.GetUtcNow()), updated.ConversationId);
    }
}

/// <summary>
/// Keeps every instance's <see cref="ConversationMembersCache"/> right when a group's members change:
/// the consuming instance publishes the conversation id on one Redis channel, and every instance
/// (itself included) drops its entry.
/// </summary>
public sealed class MembersCacheInvalidation(IConnectionMultiplexer redis, IOptions<EventBusOptions> busOptions, ConversationMembersCache cache)
    : IHostedService
{
    private readonly RedisChannel _channel = RedisChannel.Literal(busOptions.Value.KeyPrefix + ":rt:members-changed");

    public async Task ChangedAsync(Guid conversationId)
    {
        cache.Forget(conversationId);
        await redis.GetSubscriber().PublishAsync(_channel, conversationId.ToString("N"), RedisPubSub.OnPrimary);
    }

    public async Task StartAsync(CancellationToken cancellationToken) =>
        (await redis.GetSubscriber().SubscribeAsync(_channel, RedisPubSub.OnPrimary))
            .OnMessage(message =>
            {
                if (Guid.TryParse(message.Message.ToString(), out var conversationId))
                {
                    cache.Forget(conversationId);
                }
            });

    public Task StopAsync(CancellationToken cancellationToken) => redis.GetSubscriber().UnsubscribeAsync(_channel);
}
