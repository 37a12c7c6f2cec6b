using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Chat4All.Contracts.Conversations;

namespace Chat4All.Messaging.Receipts;

/// <summary><c>POST /v1/conversations/{id}/read</c>: moves the caller's read position forward (never back).</summary>
public static class ReadApi
{
    /// <summary>Channel name of a receipt for a message read through the API rather than a provider channel.</summary>
    public const string InAppChannel = "app";

    public static IEndpointRouteBuilder MapReadApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/conversations/{conversationId:guid}/read", MarkRead)
            .RequireAuthorization(ChatScopes.Messages).WithTags("Conversations").WithName("MarkConversationRead")
            .WithSummary("Mark read")
            .WithDescription("Moves the caller's read position up to `up_to_seq`; members see `conversation.read` live. A position never moves back.")
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return endpoints;
    }

    public static async Task<Results<Ok<MarkReadResponse>, ValidationProblem, ProblemHttpResult>> MarkRead(
        Guid conversationId, MarkReadRequest? request, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time,
        MessagingMetrics metrics, CancellationToken cancellationToken)
    {
        if (request?.UpToSeq is < 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["up_to_seq"] = ["up_to_seq must not be negative."] });
        }

        var reader = http.CallerId();
        if (await db.CheckMemberAsync(conversationId, http, cancellationToken) is { } problem)
        {
            return problem;
        }

        var now = time.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var lastSeq = await db.Conversations.Where(c => c.Id == conversationId).Select(c => c.LastSeq).SingleAsync(cancellationToken);
        var upTo = Math.Min(request?.UpToSeq ?? lastSeq, lastSeq);

        // Lock the member row so concurrent read calls move the position one at a time.
        var previous = await db.Database
            .SqlQuery<long>($"SELECT last_read_seq AS \"Value\" FROM messaging.conversation_members WHERE conversation_id = {conversationId} AND user_id = {reader} FOR UPDATE")
            .ToListAsync(cancellationToken) is [var position] ? position : throw new InvalidOperationException("The membership vanished mid-read.");
        if (upTo <= previous)
        {
            return TypedResults.Ok(new MarkReadResponse(conversationId, previous, 0));
        }

        var affected = db.Messages.Where(m => m.ConversationId == conversationId && m.Seq > previous && m.Seq <= upTo && m.SenderId != reader);
        var marked = await affected.CountAsync(cancellationToken);
        await db.Members.Where(m => m.ConversationId == conversationId && m.UserId == reader)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.LastReadSeq, upTo), cancellationToken);

        // Every delivery of these messages to the reader is now read (a failed one stays failed), and a
        // message the reader saw before any channel reported on it gets an in-app receipt.
        await db.Receipts.Where(r => r.RecipientId == reader && r.Status != DeliveryStatuses.Read && r.Status != DeliveryStatuses.Failed &&
                                     affected.Any(m => m.Id == r.MessageId))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, DeliveryStatuses.Read).SetProperty(r => r.UpdatedAt, now), cancellationToken);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO messaging.receipts (message_id, recipient_id, channel, status, updated_at)
            SELECT m.message_id, {reader}, {InAppChannel}, {DeliveryStatuses.Read}, {now}
            FROM messaging.messages m
            WHERE m.conversation_id = {conversationId} AND m.seq > {previous} AND m.seq <= {upTo} AND m.sender_id <> {reader}
              AND NOT EXISTS (SELECT 1 FROM messaging.receipts r WHERE r.message_id = m.message_id AND r.recipient_id = {reader})
            """, cancellationToken);
        await affected.Where(m => m.Status != DeliveryStatuses.Read)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, DeliveryStatuses.Read), cancellationToken);

        db.Enqueue(Topics.ConversationRead, conversationId.ToString(), new ConversationRead(conversationId, reader, upTo, marked, now), now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Notify<MessagingDbContext>();
        metrics.MessagesRead(marked);
        return TypedResults.Ok(new MarkReadResponse(conversationId, upTo, marked));
    }
}
