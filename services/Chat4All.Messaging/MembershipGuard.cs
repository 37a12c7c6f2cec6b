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

    /// <summary>The answer for a conversation of <paramref name="tenantId"/> (null: none) the caller is or is not a member of.</summary>
    public static ProblemHttpResult? Answer(Guid? tenantId, bool isMember, HttpContext caller) =>
        tenantId is null || tenantId != caller.CallerTenantId() ? ConversationNotFound()
        : isMember ? null
        : Problems.NotAMember();

    public static ProblemHttpResult ConversationNotFound() => Problems.NotFound("conversation_not_found", "No such conversation.");
}
