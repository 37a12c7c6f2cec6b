using System.ComponentModel.DataAnnotations;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Conversations;
using Chat4All.Messaging.Data;
using Chat4All.Messaging.Users;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Chat4All.ServiceDefaults.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Chat4All.Contracts.Conversations;

namespace Chat4All.Messaging.Members;

/// <summary>
/// Group membership (docs/adr/0041): the creator is the owner, who adds and removes members and
/// renames the group; any member may leave. Each change commits with its event
/// (<c>conversation.member_added</c>, <c>conversation.member_removed</c>, <c>conversation.updated</c>),
/// which realtime and files follow. A former member keeps the history up to the <c>seq</c> at which
/// they left, and nothing else.
/// </summary>
public static class GroupMembersApi
{
    public static IEndpointRouteBuilder MapGroupMembersApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/conversations/{conversationId:guid}").RequireAuthorization(ChatScopes.Messages).WithTags("Conversations");
        group.MapPost("/members", AddMembers).WithName("AddMembers")
            .WithSummary("Add members to a group")
            .WithDescription("The group's owner adds users of the tenant; ids that are members already are ignored. " +
                "Publishes conversation.member_added.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapDelete("/members/{userId:guid}", RemoveMember).WithName("RemoveMember")
            .WithSummary("Remove a member, or leave")
            .WithDescription("The owner removes a member; a member removes themself to leave. The former member keeps " +
                "the history up to the seq at which they left. Publishes conversation.member_removed.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPatch("", UpdateConversation).WithName("UpdateConversation")
            .WithSummary("Rename a group or set its description")
            .WithDescription("The owner sets name and/or description (a field left out stays as it is; an empty string clears it). " +
                "Publishes conversation.updated.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return endpoints;
    }

    public static async Task<Results<Ok<ConversationResponse>, ValidationProblem, ProblemHttpResult>> AddMembers(
        Guid conversationId, AddMembersRequest request, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time,
        IOptions<MessagingOptions> options, CancellationToken cancellationToken)
    {
        // Who may ask comes before what they asked: outsiders learn nothing from validation answers.
        if (await db.CheckMemberAsync(conversationId, http, cancellationToken) is { } notMember)
        {
            return notMember;
        }

        var requested = request.UserIds?.Distinct().ToList() ?? [];
        if (requested.Count == 0 || requested.Contains(Guid.Empty))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["user_ids"] = ["user_ids is a non-empty list of user ids."] });
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockAsOwnerAsync(db, conversationId, http, cancellationToken) is not { } conversation)
        {
            return await RefusalAsync(db, conversationId, http, cancellationToken);
        }

        var tenant = conversation.TenantId;
        var known = await db.Users.Present(tenant).Where(u => requested.Contains(u.UserId)).Select(u => u.UserId).ToListAsync(cancellationToken);
        if (requested.Except(known).ToList() is { Count: > 0 } unknown)
        {
            return Problems.Problem(StatusCodes.Status422UnprocessableEntity, "unknown_members",
                "These members are not users of your tenant.", new Dictionary<string, object?> { ["user_ids"] = unknown });
        }

        var members = await db.Members.Where(m => m.ConversationId == conversationId).Select(m => m.UserId).ToListAsync(cancellationToken);
        var added = requested.Except(members).ToList();
        if (members.Count + added.Count > options.Value.MaxGroupMembers)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "group_full", $"A group has at most {options.Value.MaxGroupMembers} members.");
        }

        if (added.Count > 0)
        {
            var now = time.GetUtcNow();
            db.Members.AddRange(added.Select(u => new ConversationMember { ConversationId = conversationId, UserId = u, JoinedAt = now }));
            // Joining again starts afresh: the history cap of an earlier departure no longer applies.
            await db.Departures.Where(d => d.ConversationId == conversationId && added.Contains(d.UserId)).ExecuteDeleteAsync(cancellationToken);
            members = [.. members, .. added];
            db.Enqueue(Topics.ConversationMemberAdded, conversationId.ToString(),
                new ConversationMemberAdded(conversationId, tenant, added, members, http.CallerId(), now), now);
            await db.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        outbox.Notify();
        return TypedResults.Ok(new ConversationResponse(conversation.Id, conversation.Type, members,
            new ConversationMetadata(conversation.Name, conversation.Description), conversation.CreatedAt));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RemoveMember(
        Guid conversationId, Guid userId, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var caller = http.CallerId();
        var leaving = userId == caller;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Leaving needs membership only; removing someone else needs ownership.
        var conversation = leaving
            ? await LockAsMemberAsync(db, conversationId, http, cancellationToken)
            : await LockAsOwnerAsync(db, conversationId, http, cancellationToken);
        if (conversation is null)
        {
            return await RefusalAsync(db, conversationId, http, cancellationToken);
        }

        if (leaving && conversation.CreatedBy == caller)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "owner_cannot_leave",
                "The owner of a group cannot leave it; the owner may remove every other member.");
        }

        var removed = await db.Members.Where(m => m.ConversationId == conversationId && m.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        if (removed == 0)
        {
            return Problems.NotFound("member_not_found", "This user is not a member of the conversation.");
        }

        // The seq read under the conversation's row lock: a message sent after it is not theirs.
        var now = time.GetUtcNow();
        await db.Departures.Where(d => d.ConversationId == conversationId && d.UserId == userId).ExecuteDeleteAsync(cancellationToken);
        db.Departures.Add(new ConversationDeparture
        {
            ConversationId = conversationId, UserId = userId, LeftAtSeq = conversation.LastSeq, LeftAt = now, RemovedBy = caller,
        });
        var members = await db.Members.Where(m => m.ConversationId == conversationId).Select(m => m.UserId).ToListAsync(cancellationToken);
        db.Enqueue(Topics.ConversationMemberRemoved, conversationId.ToString(),
            new ConversationMemberRemoved(conversationId, conversation.TenantId, userId, conversation.LastSeq, members, caller, now), now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Notify();
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<ConversationResponse>, ValidationProblem, ProblemHttpResult>> UpdateConversation(
        Guid conversationId, UpdateConversationRequest request, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (await db.CheckMemberAsync(conversationId, http, cancellationToken) is { } notMember)
        {
            return notMember;
        }

        if (request.Name is null && request.Description is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["Give a name, a description, or both."] });
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockAsOwnerAsync(db, conversationId, http, cancellationToken) is not { } conversation)
        {
            return await RefusalAsync(db, conversationId, http, cancellationToken);
        }

        var now = time.GetUtcNow();
        conversation.Name = request.Name is null ? conversation.Name : request.Name.Trim() is { Length: > 0 } name ? name : null;
        conversation.Description = request.Description is null ? conversation.Description
            : request.Description.Trim() is { Length: > 0 } description ? description : null;
        db.Enqueue(Topics.ConversationUpdated, conversationId.ToString(),
            new ConversationUpdated(conversationId, conversation.TenantId, conversation.Name, conversation.Description, http.CallerId(), now), now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Notify();
        var members = await db.Members.Where(m => m.ConversationId == conversationId).Select(m => m.UserId).ToListAsync(cancellationToken);
        return TypedResults.Ok(new ConversationResponse(conversation.Id, conversation.Type, members,
            new ConversationMetadata(conversation.Name, conversation.Description), conversation.CreatedAt));
    }

    /// <summary>The group, locked for this transaction (membership changes and sends take turns), if the caller is its owner.</summary>
    private static async Task<Conversation?> LockAsOwnerAsync(MessagingDbContext db, Guid conversationId, HttpContext http, CancellationToken cancellationToken) =>
        await LockAsMemberAsync(db, conversationId, http, cancellationToken) is { } conversation && conversation.CreatedBy == http.CallerId()
            ? conversation
            : null;

    private static async Task<Conversation?> LockAsMemberAsync(MessagingDbContext db, Guid conversationId, HttpContext http, CancellationToken cancellationToken)
    {
        var caller = http.CallerId();
        var tenant = http.CallerTenantId();
        var conversation = await db.Conversations
            .FromSql($"SELECT * FROM messaging.conversations WHERE conversation_id = {conversationId} FOR UPDATE")
            .SingleOrDefaultAsync(cancellationToken);
        return conversation is { Type: ConversationsApi.Group } && conversation.TenantId == tenant &&
               await db.Members.AnyAsync(m => m.ConversationId == conversationId && m.UserId == caller, cancellationToken)
            ? conversation
            : null;
    }

    /// <summary>
    /// Why the caller may not change this conversation: 404 (none, or another tenant's), 403
    /// <c>not_a_member</c> (former members included), 409 <c>not_a_group</c>, else 403 <c>not_owner</c>.
    /// </summary>
    private static async Task<ProblemHttpResult> RefusalAsync(MessagingDbContext db, Guid conversationId, HttpContext http, CancellationToken cancellationToken)
    {
        if (await db.CheckMemberAsync(conversationId, http, cancellationToken) is { } problem)
        {
            return problem;
        }

        return await db.Conversations.AnyAsync(c => c.Id == conversationId && c.Type == ConversationsApi.Group, cancellationToken)
            ? Problems.Problem(StatusCodes.Status403Forbidden, "not_owner", "Only the group's owner may do this.")
            : Problems.Problem(StatusCodes.Status409Conflict, "not_a_group", "Members, name and description change only in group conversations.");
    }
}
