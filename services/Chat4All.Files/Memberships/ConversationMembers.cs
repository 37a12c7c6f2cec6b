using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts.Events;
using Chat4All.Files.Data;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Files.Memberships;

/// <summary>
/// Files learns who is in a conversation from <c>conversation.created</c> and the membership events
/// of groups (<see cref="MemberAddedConsumer"/>, <see cref="MemberRemovedConsumer"/>), so it answers
/// membership questions from its own schema, never by calling messaging.
/// </summary>
public sealed class ConversationCreatedConsumer(FilesDbContext db) : IIntegrationEventConsumer
{
    public async Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        var created = integrationEvent.DataAs<ConversationCreated>();
        var users = created.Members.Distinct().ToArray();
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO files.memberships (conversation_id, user_id)
            SELECT {created.ConversationId}, u FROM unnest({users}) AS u
            ON CONFLICT DO NOTHING
            """, cancellationToken);
    }
}

internal static class ConversationMembers
{
    /// <summary>
    /// 404 <c>conversation_not_found</c> for a conversation files has not heard of, 403
    /// <c>not_a_member</c> for one the caller is not in, null when the caller is a member.
    /// </summary>
    public static async Task<ProblemHttpResult?> CheckMemberAsync(this FilesDbContext db, Guid conversationId, Guid userId, CancellationToken cancellationToken)
    {
        var members = await db.Memberships.AsNoTracking().Where(m => m.ConversationId == conversationId)
            .Select(m => new { m.UserId, m.LeftAtSeq }).ToListAsync(cancellationToken);
        return members.Count == 0 ? Problems.NotFound("conversation_not_found", "No such conversation.")
            : members.Any(m => m.UserId == userId && m.LeftAtSeq == null) ? null
            : Problems.NotAMember();
    }

    /// <summary>
    /// For an upload or file that exists (so its conversation does): 403 <c>not_a_member</c> unless the
    /// caller is in the conversation — its existence is no secret once the id is known, its content is.
    /// </summary>
    public static async Task<ProblemHttpResult?> CheckMemberOfKnownAsync(this FilesDbContext db, Guid conversationId, Guid userId, CancellationToken cancellationToken) =>
        await db.Memberships.AsNoTracking().AnyAsync(m => m.ConversationId == conversationId && m.UserId == userId && m.LeftAtSeq == null, cancellationToken)
            ? null
            : Problems.NotAMember();
}
