using Chat4All.Contracts;
using Chat4All.Messaging.Data;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Messaging;

/// <summary>The caller's identity and the one membership rule every endpoint applies.</summary>
internal static class MembershipGuard
{
    public static Guid CallerId(this HttpContext http) => Guid.Parse(http.User.FindFirst(ChatClaims.Subject)!.Value);

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

internal static class Problems
{
    public static ProblemHttpResult NotFound(string code, string detail) => Problem(StatusCodes.Status404NotFound, code, detail);

    public static ProblemHttpResult NotAMember() =>
        Problem(StatusCodes.Status403Forbidden, "not_a_member", "You are not a member of this conversation.");

    public static ProblemHttpResult Problem(int status, string code, string detail, IDictionary<string, object?>? extra = null)
    {
        var extensions = new Dictionary<string, object?> { [ProblemDetailsDefaults.CodeKey] = code };
        foreach (var (key, value) in extra ?? new Dictionary<string, object?>())
        {
            extensions[key] = value;
        }

        return TypedResults.Problem(detail, statusCode: status, extensions: extensions);
    }
}
