using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Chat4All.Contracts.Messages;
using Chat4All.Contracts.Users;

namespace Chat4All.Messaging.Messages;

/// <summary><c>POST /v1/messages</c>, <c>GET /v1/messages/{id}</c> and conversation history.</summary>
public static class MessagesApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const long MaxRequestBytes = 256 * 1024;
    private static readonly string[] Priorities = ["low", "normal", "high"];

    public static IEndpointRouteBuilder MapMessagesApi(this IEndpointRouteBuilder endpoints)
    {
        var messages = endpoints.MapGroup("/v1/messages").RequireAuthorization(ChatScopes.Messages).WithTags("Messages");
        // A message is small JSON; refuse anything larger before reading it (413), whatever Kestrel's global limit.
        messages.MapPost("/", SendMessage).WithName("SendMessage")
            .WithSummary("Send a message")
            .WithDescription("Accepts a text or file message into a conversation (202 with its gap-free `seq`). Idempotent by `message_id` or `Idempotency-Key`: a repeat replays the first answer with `Idempotent-Replayed: true`.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status422UnprocessableEntity).WithMetadata(new RequestSizeLimitAttribute(MaxRequestBytes));
        messages.MapGet("/{messageId:guid}", GetMessage).WithName("GetMessage")
            .WithSummary("Get a message")
            .WithDescription("A message with its delivery status per recipient and channel.")
            .ProducesProblem(StatusCodes.Status403Forbidden);
        endpoints.MapGet("/v1/conversations/{conversationId:guid}/messages", GetHistory)
            .RequireAuthorization(ChatScopes.Messages).WithTags("Messages").WithName("GetConversationMessages")
            .WithSummary("Read history")
            .WithDescription("Messages of a conversation by `seq`: `before_seq`/`after_seq` and `limit`, with a cursor to page.")
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return endpoints;
    }

    public static async Task<Results<Accepted<AcceptedMessage>, ValidationProblem, ProblemHttpResult>> SendMessage(
        SendMessageRequest request, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time,
        IOptions<MessagingOptions> options, MessagingMetrics metrics, CancellationToken cancellationToken,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey = null)
    {
        var sender = http.CallerId();
        if (Validate(request, idempotencyKey, options.Value) is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var conversationId = request.ConversationId!.Value;
        var payload = request.Payload!;
        var channels = NormalizeChannels(request.Channels);
        var priority = request.Priority?.ToLowerInvariant() ?? "normal";
        var fallback = request.FallbackChannel?.ToLowerInvariant();
        var requestHash = Hash(conversationId, payload, channels, priority, fallback);

        // One read answers existence, membership and the recipients (a conversation always has members).
        var members = await db.Members.Where(m => m.ConversationId == conversationId).Select(m => m.UserId).ToListAsync(cancellationToken);
        if (!members.Contains(sender))
        {
            // Only a refusal pays for the tenant lookup: members are always of the conversation's tenant.
            var tenantId = members.Count == 0 ? null
                : await db.Conversations.Where(c => c.Id == conversationId).Select(c => (Guid?)c.TenantId).SingleOrDefaultAsync(cancellationToken);
            return MembershipGuard.Answer(tenantId, isMember: false, http)!;
        }

        if (await FindExistingAsync(db, request.MessageId, sender, idempotencyKey, cancellationToken) is { } existing)
        {
            return Replay(http, existing, requestHash, metrics);
        }

        // Only files announced by file.uploaded for this very conversation; an unknown file and another
        // conversation's file get the same answer, so a file id reveals nothing about other conversations.
        if (payload.Type == "file" &&
            !await db.Files.AnyAsync(f => f.FileId == payload.FileId && f.ConversationId == conversationId, cancellationToken))
        {
            return Problems.Problem(StatusCodes.Status422UnprocessableEntity, "file_not_available",
                "No completed file with this file_id exists in this conversation; a file can be sent once its upload to this conversation has completed.");
        }

        var now = time.GetUtcNow();
        var messageId = request.MessageId ?? Guid.CreateVersion7(now);
        var recipients = members.Where(m => m != sender).ToList();
        long seq;
        try
        {
            seq = await MessageWriter.InsertAsync(db, new NewMessage(messageId, conversationId, sender, recipients,
                new MessagePayload(payload.Type, payload.Text, payload.FileId), channels, priority, fallback, idempotencyKey, requestHash, now), cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // A concurrent request with the same key committed first; answer as its replay.
            var winner = await FindExistingAsync(db, request.MessageId, sender, idempotencyKey, cancellationToken);
            return winner is null
                ? Problems.Problem(StatusCodes.Status409Conflict, "request_in_flight", "The same message is being processed; retry shortly.")
                : Replay(http, winner, requestHash, metrics);
        }

        outbox.Notify<MessagingDbContext>();
        metrics.MessageAccepted("api", payload.Type);
        return TypedResults.Accepted($"/v1/messages/{messageId}", new AcceptedMessage("accepted", messageId, conversationId, seq, now));
    }

    public static async Task<Results<Ok<MessageDetail>, ValidationProblem, ProblemHttpResult>> GetMessage(
        Guid messageId, HttpContext http, MessagingDbContext db, CancellationToken cancellationToken, string? expand = null)
    {
        var expanded = Expansion.Parse(expand, [Expansion.Sender], out var badExpand);
        if (badExpand is not null)
        {
            return badExpand;
        }

        var message = await db.Messages.AsNoTracking().SingleOrDefaultAsync(m => m.Id == messageId, cancellationToken);
        if (message is null)
        {
            return Problems.NotFound("message_not_found", "No such message.");
        }

        // A former member still sees the messages up to their leaving (docs/adr/0041).
        if (await db.CheckReaderAsync(message.ConversationId, http, cancellationToken) is not (null, var maxSeq) || message.Seq > maxSeq)
        {
            return Problems.NotFound("message_not_found", "No such message.");
        }

        var deliveries = await db.Receipts.AsNoTracking().Where(r => r.MessageId == messageId)
            .OrderBy(r => r.RecipientId).ThenBy(r => r.Channel)
            .Select(r => new DeliveryView(r.RecipientId, r.Channel, r.Status, r.UpdatedAt, r.Error, r.FallbackFrom, r.ChannelChange))
            .ToListAsync(cancellationToken);
        var view = ToView(message);
        var sender = expanded.Contains(Expansion.Sender)
            ? (await Expansion.UsersAsync(db, http.CallerTenantId(), [view.SenderId], cancellationToken))[view.SenderId]
            : null;
        return TypedResults.Ok(new MessageDetail(view.MessageId, view.ConversationId, view.Seq, view.SenderId, view.Payload, view.Channels,
            view.Priority, view.Status, view.CreatedAt, deliveries, view.EditedAt, view.DeletedAt, sender));
    }

    /// <summary>
    /// History in <c>seq</c> order. <c>after_seq</c> pages forward (catching up), <c>before_seq</c> — and
    /// no position at all, meaning the newest — pages backward; <c>next_cursor</c> continues the same way.
    /// </summary>
    public static async Task<Results<Ok<MessagePage>, ValidationProblem, ProblemHttpResult>> GetHistory(
        Guid conversationId, HttpContext http, MessagingDbContext db, CancellationToken cancellationToken,
        int? limit = null, string? cursor = null, [FromQuery(Name = "before_seq")] long? beforeSeq = null,
        [FromQuery(Name = "after_seq")] long? afterSeq = null, int? offset = null, string? expand = null)
    {
        var take = limit ?? Cursor.DefaultLimit;
        var expanded = Expansion.Parse(expand, [Expansion.Sender], out var badExpand);
        if (badExpand is not null)
        {
            return badExpand;
        }

        var errors = new Dictionary<string, string[]>();
        if (take is < 1 or > Cursor.MaxLimit)
        {
            errors["limit"] = [$"limit must be 1..{Cursor.MaxLimit}."];
        }

        if (offset is < 0)
        {
            errors["offset"] = ["offset must not be negative."];
        }

        if (cursor is not null)
        {
            switch (Cursor.Decode(cursor)?.Split(':'))
            {
                case ["a", var n] when long.TryParse(n, CultureInfo.InvariantCulture, out var after):
                    afterSeq = after;
                    break;
                case ["b", var n] when long.TryParse(n, CultureInfo.InvariantCulture, out var before):
                    beforeSeq = before;
                    break;
                default:
                    errors["cursor"] = ["The cursor is not valid."];
                    break;
            }
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var (problem, maxSeq) = await db.CheckReaderAsync(conversationId, http, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        // An offset counts messages from the oldest; seq is no position for it, since edits and deletes
        // take seqs of their own (docs/adr/0045). A position or cursor given as well wins.
        var skip = afterSeq is null && beforeSeq is null ? offset : null;
        afterSeq ??= skip is null ? null : 0;
        var messages = db.Messages.AsNoTracking().Where(m => m.ConversationId == conversationId);
        if (maxSeq is { } cap)
        {
            // A former member's history ends where they left.
            messages = messages.Where(m => m.Seq <= cap);
        }

        List<Message> rows;
        bool hasMore;
        string? next;
        if (afterSeq is { } from)
        {
            rows = await messages.Where(m => m.Seq > from).OrderBy(m => m.Seq).Skip(skip ?? 0).Take(take + 1).ToListAsync(cancellationToken);
            hasMore = rows.Count > take;
            rows = [.. rows.Take(take)];
            next = hasMore ? Cursor.Encode(string.Create(CultureInfo.InvariantCulture, $"a:{rows[^1].Seq}")) : null;
        }
        else
        {
            var query = beforeSeq is { } before ? messages.Where(m => m.Seq < before) : messages;
            rows = await query.OrderByDescending(m => m.Seq).Take(take + 1).ToListAsync(cancellationToken);
            hasMore = rows.Count > take;
            rows = [.. rows.Take(take).Reverse()];
            next = hasMore ? Cursor.Encode(string.Create(CultureInfo.InvariantCulture, $"b:{rows[0].Seq}")) : null;
        }

        var views = rows.Select(ToView).ToList();
        if (expanded.Contains(Expansion.Sender))
        {
            var users = await Expansion.UsersAsync(db, http.CallerTenantId(), views.Select(v => v.SenderId), cancellationToken);
            views = [.. views.Select(v => v with { Sender = users[v.SenderId] })];
        }

        return TypedResults.Ok(new MessagePage(conversationId, views, next, hasMore));
    }

    internal static MessageView ToView(Message m) =>
        new(m.Id, m.ConversationId, m.Seq, m.SenderId, new MessagePayload(m.PayloadType, m.Text, m.FileId), m.Channels, m.Priority, m.Status, m.CreatedAt,
            m.EditedAt, m.DeletedAt);

    private static Dictionary<string, string[]> Validate(SendMessageRequest request, string? idempotencyKey, MessagingOptions options)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.ConversationId is null || request.ConversationId == Guid.Empty)
        {
            errors["conversation_id"] = ["conversation_id is required."];
        }

        if (request.MessageId == Guid.Empty)
        {
            errors["message_id"] = ["message_id must be a non-empty UUID."];
        }

        if (idempotencyKey is { Length: 0 or > 255 })
        {
            errors[IdempotencyKeyHeader] = ["Idempotency-Key must be 1 to 255 characters."];
        }

        switch (request.Payload)
        {
            case null:
                errors["payload"] = ["payload is required."];
                break;
            case { Type: "text" } text when string.IsNullOrWhiteSpace(text.Text):
                errors["payload.text"] = ["Text must not be empty."];
                break;
            case { Type: "text" } text when text.Text!.Length > options.MaxTextLength:
                errors["payload.text"] = [$"Text is limited to {options.MaxTextLength} characters."];
                break;
            case { Type: "text", FileId: not null }:
                errors["payload.file_id"] = ["A text payload has no file_id."];
                break;
            case { Type: "file" } file when file.FileId is null || file.FileId == Guid.Empty:
                errors["payload.file_id"] = ["A file payload needs file_id."];
                break;
            case { Type: "text" or "file" }:
                break;
            default:
                errors["payload.type"] = ["payload.type must be 'text' or 'file'."];
                break;
        }

        if (request.Channels is { } channels)
        {
            var unknown = channels.Where(c => c is null ||
                (!Channels.All.Contains(c.ToLowerInvariant()) && !c.Equals(Channels.AllKeyword, StringComparison.OrdinalIgnoreCase))).ToList();
            if (unknown.Count > 0 || channels.Count == 0)
            {
                errors["channels"] = [$"Channels are a non-empty list of {string.Join(", ", Channels.All)}, or [\"all\"]."];
            }
        }

        if (request.FallbackChannel is { } fallback && !Channels.All.Contains(fallback.ToLowerInvariant()))
        {
            errors["fallback_channel"] = [$"fallback_channel must be one of {string.Join(", ", Channels.All)}."];
        }

        if (request.Priority is { } priority && !Priorities.Contains(priority.ToLowerInvariant()))
        {
            errors["priority"] = ["priority must be low, normal or high."];
        }

        return errors;
    }

    private static List<string> NormalizeChannels(IReadOnlyList<string>? channels) =>
        channels is null ? [Channels.DefaultKeyword]
        : channels.Any(c => c.Equals(Channels.AllKeyword, StringComparison.OrdinalIgnoreCase)) ? [Channels.AllKeyword]
        : [.. channels.Select(c => c.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal)];

    private static async Task<Message?> FindExistingAsync(MessagingDbContext db, Guid? messageId, Guid sender, string? idempotencyKey, CancellationToken cancellationToken) =>
        messageId is { } id
            ? await db.Messages.AsNoTracking().SingleOrDefaultAsync(m => m.Id == id, cancellationToken)
            : idempotencyKey is not null
                ? await db.Messages.AsNoTracking().SingleOrDefaultAsync(m => m.SenderId == sender && m.IdempotencyKey == idempotencyKey, cancellationToken)
                : null;

    private static Results<Accepted<AcceptedMessage>, ValidationProblem, ProblemHttpResult> Replay(HttpContext http, Message existing, string requestHash,
        MessagingMetrics metrics)
    {
        if (existing.SenderId != http.CallerId() || existing.RequestHash != requestHash)
        {
            return Problems.Problem(StatusCodes.Status422UnprocessableEntity, "idempotency_key_reused",
                "This message id or Idempotency-Key was already used for a different request.");
        }

        http.Response.Headers[ReplayedHeader] = "true";
        metrics.MessageReplayed();
        return TypedResults.Accepted($"/v1/messages/{existing.Id}",
            new AcceptedMessage("accepted", existing.Id, existing.ConversationId, existing.Seq, existing.CreatedAt));
    }

    private static string Hash(Guid conversationId, PayloadRequest payload, List<string> channels, string priority, string? fallback) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            conversationId,
            payload.Type,
            payload.Text,
            payload.FileId,
            channels,
            priority,
            fallback,
        }))));
}
