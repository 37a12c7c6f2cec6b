using Chat4All.Messaging.Data;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging;

/// <summary>The one membership rule every endpoint applies.</summary>
internal static class MembershipGuard
{
    /// <summary>
    /// 404 for a conversation that does not exist or belongs to another tenant (its existence is not
    /// shared across tenants), 403 <c>not_a_member</c> for one of the caller's tenant they are not in.
    /// </summary>
    public static async Task<ProblemHttpResult?> CheckMemberAsync(this MessagingDbContext db, Guid conversationId, HttpContext caller, CancellationToken cancellationToken)
    {
        var userId = caller.CallerId();
        var membership = await db.Conversations.Where(c => c.Id == conversationId)
            .Select(c => new { c.TenantId, IsMember = c.Members.Any(m => m.UserId == userId) })
            .SingleOrDefaultAsync(cancellationToken);
        return Answer(membership?.TenantId, membership?.IsMember ?? false, caller);
    }

    /// <summary>
    /// Who may read a conversation's history: a member (no cap), or a former member up to the
    /// <c>seq</c> at which they left (docs/adr/0041). Anyone else gets <see cref="CheckMemberAsync"/>'s answer.
    /// </summary>
    public static async Task<(ProblemHttpResult? Problem, long? MaxSeq)> CheckReaderAsync(this MessagingDbContext db, Guid conversationId, HttpContext caller,
        CancellationToken cancellationToken)
    {
        var userId = caller.CallerId();
        var reader = await db.Conversations.Where(c => c.Id == conversationId)
            .Select(c => new
            {
                c.TenantId,
                IsMember = c.Members.Any(m => m.UserId == userId),
                LeftAtSeq = db.Departures.Where(d => d.ConversationId == c.Id && d.UserId == userId).Select(d => (long?)d.LeftAtSeq).FirstOrDefault(),
            })
            .SingleOrDefaultAsync(cancellationToken);
        return reader?.LeftAtSeq is { } leftAt && !reader.IsMember && reader.TenantId == caller.CallerTenantId()
            ? (null, leftAt)
            : (Answer(reader?.TenantId, reader?.IsMember ?? false, caller), null);
    }

    /// <summary>The answer for a conversation of <paramref name="tenantId"/> (null: none) the caller is or is not a member of.</summary>
    public static ProblemHttpResult? Answer(Guid? tenantId, bool isMember, HttpContext caller) =>
        tenantId is null || tenantId != caller.CallerTenantId() ? ConversationNotFound()
        : isMember ? null
        : Problems.NotAMember();

    public static ProblemHttpResult ConversationNotFound() => Problems.NotFound("conversation_not_found", "No such conversation.");
}
