using Chat4All.Messaging.Data;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging;

/// <summary>The one membership rule every endpoint applies.</summary>
internal static class MembershipGuard
{
    /// <summary>404 for a conversation that does not exist, 403 <c>not_a_member</c> for one the caller is not in.</summary>
    public static async Task<ProblemHttpResult?> CheckMemberAsync(this MessagingDbContext db, Guid conversationId, Guid userId, CancellationToken cancellationToken)
    {
        var membership = await db.Conversations.Where(c => c.Id == conversationId)
            .Select(c => new { IsMember = c.Members.Any(m => m.UserId == userId) })
            .SingleOrDefaultAsync(cancellationToken);
        return membership switch
        {
            null => Problems.NotFound("conversation_not_found", "No such conversation."),
            { IsMember: false } => Problems.NotAMember(),
            _ => null,
        };
    }
}
