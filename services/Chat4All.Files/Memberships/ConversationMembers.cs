using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.Contracts.Events;
using Chat4All.Files.Data;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Chat4All.Files.Memberships;

/// <summary>
/// Files learns who is in a conversation from <c>conversation.created</c> and the membership events
/// of groups (<see cref="MemberAddedConsumer"/>, <see cref="MemberRemovedConsumer"/>), so it answers
/// membership questions from its own schema, never by calling messaging.
/// </summary>
public sealed class ConversationCreatedConsumer(FilesDbContext db, IOptions<Chat4AllOptions> options) : IIntegrationEventConsumer<ConversationCreated>
{
    public async Task HandleAsync(IntegrationEvent envelope, ConversationCreated created, CancellationToken cancellationToken)
    {
        var users = created.Members.Distinct().ToArray();
        // Events from before tenants carry none: those conversations are the default tenant's (as in messaging).
        var tenantId = created.TenantId ?? options.Value.DefaultTenantId;
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO files.memberships (conversation_id, user_id, tenant_id)
            SELECT {created.ConversationId}, u, {tenantId} FROM unnest({users}) AS u
            ON CONFLICT DO NOTHING
            """, cancellationToken);
    }
}

internal static class ConversationMembers
{
    /// <summary>
    /// The rule messaging applies to a conversation id (docs/adr/0028): 404 <c>conversation_not_found</c>
    /// for a conversation files has not heard of or that belongs to another tenant, 403
    /// <c>not_a_member</c> for one of the caller's tenant they are not in, null when the caller is a member.
    /// </summary>
    public static async Task<ProblemHttpResult?> CheckMemberAsync(this FilesDbContext db, Guid conversationId, HttpContext caller, CancellationToken cancellationToken)
    {
        var userId = caller.CallerId();
        var members = await db.Memberships.AsNoTracking().Where(m => m.ConversationId == conversationId)
            .Select(m => new { m.UserId, m.TenantId, m.LeftAtSeq }).ToListAsync(cancellationToken);
        return members.Count == 0 || members[0].TenantId != caller.CallerTenantId() ? Problems.NotFound("conversation_not_found", "No such conversation.")
            : members.Any(m => m.UserId == userId && m.LeftAtSeq == null) ? null
            : Problems.NotAMember();
    }

    /// <summary>
    /// Whether the caller is a current member of the conversation an upload or file belongs to. Anyone
    /// else is told the upload or file does not exist (as <c>GET /v1/messages/{id}</c> does), so its id
    /// reveals nothing to another tenant or to a non-member.
    /// </summary>
    public static Task<bool> IsMemberAsync(this FilesDbContext db, Guid conversationId, Guid userId, CancellationToken cancellationToken) =>
        db.Memberships.AsNoTracking().AnyAsync(m => m.ConversationId == conversationId && m.UserId == userId && m.LeftAtSeq == null, cancellationToken);
}
