using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json.Serialization;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
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
using Npgsql;
using Chat4All.Contracts.Conversations;
using Chat4All.Contracts.Users;

namespace Chat4All.Messaging.Conversations;

/// <summary>
/// <c>/v1/conversations</c>: create, list (newest activity first), get. A conversation lives in its
/// creator's tenant, and its members are users of that tenant (docs/adr/0028).
/// </summary>
public static class ConversationsApi
{
    public const string Private = "private";
    public const string Group = "group";
    private const int PreviewLength = 100;

    public static IEndpointRouteBuilder MapConversationsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/conversations").RequireAuthorization(ChatScopes.Messages).WithTags("Conversations");
        group.MapPost("/", CreateConversation).WithName("CreateConversation")
            .WithSummary("Create a conversation")
            .WithDescription("A private conversation of two (the same pair always gets the same one: 201 first, 200 after) or a group. Members must be users of the caller's tenant (422 `unknown_members`).")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapGet("/", ListConversations).WithName("ListConversations")
            .WithSummary("List my conversations")
            .WithDescription("The caller's conversations, newest activity first, each with its last message and unread count.");
        group.MapGet("/{conversationId:guid}", GetConversation).WithName("GetConversation")
            .WithSummary("Get a conversation")
            .WithDescription("A conversation the caller is a member of, with its members.")
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return endpoints;
    }

    public static async Task<Results<Created<ConversationResponse>, Ok<ConversationResponse>, ValidationProblem, ProblemHttpResult>> CreateConversation(
        CreateConversationRequest request, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time,
        IOptions<MessagingOptions> options, MessagingMetrics metrics, CancellationToken cancellationToken)
    {
        var caller = http.CallerId();
        var tenant = http.CallerTenantId();
        var members = request.Members.Append(caller).Distinct().ToList();
        var type = request.Type.Trim().ToLowerInvariant();
        var errors = new Dictionary<string, string[]>();
        if (type is not (Private or Group))
        {
            errors["type"] = ["Type must be 'private' or 'group'."];
        }
        else if (type == Private && members.Count != 2)
        {
            errors["members"] = ["A private conversation has exactly two members: you and one other user."];
        }
        else if (type == Group && (members.Count < 3 || members.Count > options.Value.MaxGroupMembers))
        {
            errors["members"] = [$"A group has 3 to {options.Value.MaxGroupMembers} members, you included."];
        }

        if (members.Contains(Guid.Empty))
        {
            errors["members"] = ["Member ids must be non-empty UUIDs."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // Members are users identity announced in the caller's own tenant; anyone else is named, not guessed at.
        var others = members.Where(m => m != caller).ToList();
        var known = await db.Users.Present(tenant).Where(u => others.Contains(u.UserId)).Select(u => u.UserId).ToListAsync(cancellationToken);
        if (others.Except(known).ToList() is { Count: > 0 } unknown)
        {
            return Problems.Problem(StatusCodes.Status422UnprocessableEntity, "unknown_members",
                "These members are not users of your tenant.", new Dictionary<string, object?> { ["user_ids"] = unknown });
        }

        var pairKey = type == Private ? string.Join(':', members.Order().Select(m => m.ToString("N"))) : null;
        if (pairKey is not null && await FindPrivateAsync(db, pairKey, cancellationToken) is { } existing)
        {
            return TypedResults.Ok(existing);
        }

        if (pairKey is not null && !options.Value.For(tenant).StrangersMayStartPrivate &&
            !await db.Members.AnyAsync(m => m.UserId == others[0] && db.Members.Any(mine => mine.UserId == caller && mine.ConversationId == m.ConversationId), cancellationToken))
        {
            return Problems.Problem(StatusCodes.Status403Forbidden, "contacts_only",
                "Your tenant lets you start a private conversation only with someone you already share a conversation with.");
        }

        var now = time.GetUtcNow();
        var conversation = new Conversation
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenant,
            Type = type,
            Name = request.Metadata?.Name,
            Description = request.Metadata?.Description,
            CreatedBy = caller,
            PrivatePairKey = pairKey,
            CreatedAt = now,
            UpdatedAt = now,
            Members = [.. members.Select(m => new ConversationMember { UserId = m, JoinedAt = now })],
        };
        db.Conversations.Add(conversation);
        db.Enqueue(Topics.ConversationCreated, conversation.Id.ToString(),
            new ConversationCreated(conversation.Id, type, members, caller, now, tenant), now);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (pairKey is not null && ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            // The same pair raced us: theirs won, and it is ours too.
            db.ChangeTracker.Clear();
            return TypedResults.Ok((await FindPrivateAsync(db, pairKey, cancellationToken))!);
        }

        outbox.Notify<MessagingDbContext>();
        metrics.ConversationCreated(type);
        return TypedResults.Created($"/v1/conversations/{conversation.Id}", ToResponse(conversation, members));
    }

    private static readonly string[] UnsupportedPaging = ["offset", "page"];

    public static async Task<Results<Ok<ConversationPage>, ValidationProblem>> ListConversations(
        HttpContext http, MessagingDbContext db, CancellationToken cancellationToken, int? limit = null, string? cursor = null, string? expand = null)
    {
        var expanded = Expansion.Parse(expand, [Expansion.Members], out var badExpand);
        if (badExpand is not null)
        {
            return badExpand;
        }

        var caller = http.CallerId();
        // Offsets would skip or repeat conversations as new activity reorders the list, so it pages by
        // cursor only; an offset is refused rather than ignored (a client would loop on page 1).
        if (UnsupportedPaging.FirstOrDefault(http.Request.Query.ContainsKey) is { } unsupported)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [unsupported] = [$"{unsupported} is not supported: this list pages by cursor (pass the previous page's next_cursor as cursor)."],
            });
        }

        var take = limit ?? Cursor.DefaultLimit;
        if (take is < 1 or > Cursor.MaxLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be 1..{Cursor.MaxLimit}."] });
        }

        DateTimeOffset? afterTime = null;
        var afterId = Guid.Empty;
        if (cursor is not null)
        {
            if (Cursor.Decode(cursor)?.Split('|') is not [var t, var id] || !long.TryParse(t, CultureInfo.InvariantCulture, out var ticks) ||
                !Guid.TryParse(id, out afterId))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["cursor"] = ["The cursor is not valid."] });
            }

            afterTime = new DateTimeOffset(ticks, TimeSpan.Zero);
        }

        // One round trip: membership, conversation, members, last message and unread count together.
        var tenant = http.CallerTenantId();
        var query = from member in db.Members
                    where member.UserId == caller
                    join c in db.Conversations on member.ConversationId equals c.Id
                    where c.TenantId == tenant
                    select new { c, member.LastReadSeq };
        if (afterTime is { } at)
        {
            query = query.Where(x => x.c.UpdatedAt < at || (x.c.UpdatedAt == at && x.c.Id.CompareTo(afterId) < 0));
        }

        var rows = await query
            .OrderByDescending(x => x.c.UpdatedAt).ThenByDescending(x => x.c.Id)
            .Take(take + 1)
            .Select(x => new
            {
                x.c.Id,
                x.c.Type,
                x.c.Name,
                x.c.Description,
                x.c.UpdatedAt,
                // Messages, not seqs: edits and deletes take seqs too (docs/adr/0045).
                Unread = db.Messages.Count(m => m.ConversationId == x.c.Id && m.Seq > x.LastReadSeq && m.SenderId != caller && m.DeletedAt == null),
                Members = x.c.Members.Select(m => m.UserId).ToList(),
                Last = db.Messages.Where(m => m.ConversationId == x.c.Id).OrderByDescending(m => m.Seq)
                    .Select(m => new { m.Id, m.Seq, m.SenderId, m.PayloadType, m.Text, m.CreatedAt })
                    .FirstOrDefault(),
            })
            .ToListAsync(cancellationToken);

        var hasMore = rows.Count > take;
        var page = rows.Take(take).Select(r => new ConversationSummary(
            r.Id, r.Type, new ConversationMetadata(r.Name, r.Description), r.Members,
            r.Last is null ? null : new LastMessagePreview(r.Last.Id, r.Last.Seq, r.Last.SenderId, Preview(r.Last.PayloadType, r.Last.Text), r.Last.CreatedAt),
            Math.Max(0, r.Unread), r.UpdatedAt)).ToList();
        if (expanded.Contains(Expansion.Members))
        {
            var users = await Expansion.UsersAsync(db, tenant, page.SelectMany(c => c.Members), cancellationToken);
            page = [.. page.Select(c => c with { MemberDetails = [.. c.Members.Select(m => users[m])] })];
        }

        var next = hasMore
            ? Cursor.Encode(string.Create(CultureInfo.InvariantCulture, $"{page[^1].UpdatedAt.UtcTicks}|{page[^1].ConversationId}"))
            : null;
        return TypedResults.Ok(new ConversationPage(page, next, hasMore));
    }

    public static async Task<Results<Ok<ConversationResponse>, ValidationProblem, ProblemHttpResult>> GetConversation(
        Guid conversationId, HttpContext http, MessagingDbContext db, CancellationToken cancellationToken, string? expand = null)
    {
        var expanded = Expansion.Parse(expand, [Expansion.Members], out var badExpand);
        if (badExpand is not null)
        {
            return badExpand;
        }

        if (await db.CheckMemberAsync(conversationId, http, cancellationToken) is { } problem)
        {
            return problem;
        }

        var conversation = await db.Conversations.AsNoTracking().Include(c => c.Members).SingleAsync(c => c.Id == conversationId, cancellationToken);
        var response = ToResponse(conversation, conversation.Members.Select(m => m.UserId).ToList());
        if (expanded.Contains(Expansion.Members))
        {
            var users = await Expansion.UsersAsync(db, conversation.TenantId, response.Members, cancellationToken);
            response = response with { MemberDetails = [.. response.Members.Select(m => users[m])] };
        }

        return TypedResults.Ok(response);
    }

    private static async Task<ConversationResponse?> FindPrivateAsync(MessagingDbContext db, string pairKey, CancellationToken cancellationToken)
    {
        var conversation = await db.Conversations.AsNoTracking().Include(c => c.Members)
            .SingleOrDefaultAsync(c => c.PrivatePairKey == pairKey, cancellationToken);
        return conversation is null ? null : ToResponse(conversation, conversation.Members.Select(m => m.UserId).ToList());
    }

    private static ConversationResponse ToResponse(Conversation c, IReadOnlyList<Guid> members) =>
        new(c.Id, c.Type, members, new ConversationMetadata(c.Name, c.Description), c.CreatedAt);

    private static string Preview(string payloadType, string? text) =>
        payloadType == "file" ? "[file]" : text is null ? "" : text.Length <= PreviewLength ? text : text[..PreviewLength] + "…";
}
