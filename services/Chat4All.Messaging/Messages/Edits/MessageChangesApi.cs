using System.ComponentModel.DataAnnotations;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
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

namespace Chat4All.Messaging.Messages.Edits;

/// <summary>
/// <c>PATCH</c> and <c>DELETE /v1/messages/{id}</c> and the edit history (docs/adr/0045). Only the
/// sender may change a message; anyone else — another member, a non-member, another tenant — gets the
/// same 404 as for a message that does not exist. Each change takes the conversation's next seq under
/// the conversation's row lock, so it is ordered after the original and everything before it, and
/// publishes <c>MessageUpdated</c> / <c>MessageDeleted</c> through the outbox in the same transaction, on
/// the conversation's message stream (topic <c>message.created</c>), so consumers see them in seq order.
/// </summary>
public static class MessageChangesApi
{
    public static IEndpointRouteBuilder MapMessageChangesApi(this IEndpointRouteBuilder endpoints)
    {
        var messages = endpoints.MapGroup("/v1/messages").RequireAuthorization(ChatScopes.Messages).WithTags("Messages");
        messages.MapPatch("/{messageId:guid}", EditMessage).WithName("EditMessage")
            .WithMetadata(new RequestSizeLimitAttribute(MessagesApi.MaxRequestBytes))
            .WithSummary("Edit a text message")
            .WithDescription("The sender replaces the text of a text message. The edit takes the conversation's next seq, is kept in the edit history, " +
                             "and reaches every member as a message.updated frame. Repeating the same text (or the same Idempotency-Key) changes nothing and answers the same.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        messages.MapDelete("/{messageId:guid}", DeleteMessage).WithName("DeleteMessage")
            .WithSummary("Delete a message")
            .WithDescription("The sender deletes a message: it stays in history as a tombstone with its seq, without content, and every member gets a " +
                             "message.deleted frame. Deleting again changes nothing and answers the same.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        messages.MapGet("/{messageId:guid}/edits", GetEdits).WithName("GetMessageEdits")
            .WithSummary("Edit history of a message")
            .WithDescription("Every edit of the message, oldest first, with the text it replaced. Members of the conversation may read it; a deleted message has none.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    public static async Task<Results<Ok<MessageChanged>, ValidationProblem, ProblemHttpResult>> EditMessage(
        Guid messageId, EditMessageRequest request, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time,
        IOptions<MessagingOptions> options, CancellationToken cancellationToken,
        [FromHeader(Name = MessagesApi.IdempotencyKeyHeader)] string? idempotencyKey = null)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Text))
        {
            errors["text"] = ["Text must not be empty."];
        }
        else if (request.Text.Length > options.Value.MaxTextLength)
        {
            errors["text"] = [$"Text is limited to {options.Value.MaxTextLength} characters."];
        }

        if (idempotencyKey is { Length: 0 or > 255 })
        {
            errors[MessagesApi.IdempotencyKeyHeader] = ["Idempotency-Key must be 1 to 255 characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var text = request.Text!;
        try
        {
            return await EditAsync(messageId, text, idempotencyKey, http, db, outbox, time, cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // The same Idempotency-Key committed concurrently: answer as its replay.
            db.ChangeTracker.Clear();
            return await EditAsync(messageId, text, idempotencyKey, http, db, outbox, time, cancellationToken);
        }
    }

    private static async Task<Results<Ok<MessageChanged>, ValidationProblem, ProblemHttpResult>> EditAsync(
        Guid messageId, string text, string? idempotencyKey, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time,
        CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockOwnAsync(db, messageId, http, cancellationToken) is not { } message)
        {
            return MessageNotFound();
        }

        if (idempotencyKey is not null &&
            await db.MessageEdits.AsNoTracking().SingleOrDefaultAsync(e => e.MessageId == messageId && e.IdempotencyKey == idempotencyKey, cancellationToken)
                is { } earlier)
        {
            return earlier.Text == text
                ? Replayed(http, message)
                : Problems.Problem(StatusCodes.Status422UnprocessableEntity, "idempotency_key_reused",
                    "This Idempotency-Key was already used for an edit with a different text.");
        }

        if (message.DeletedAt is not null)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "message_deleted", "The message was deleted; it can no longer be edited.");
        }

        if (message.PayloadType != "text")
        {
            return Problems.Problem(StatusCodes.Status422UnprocessableEntity, "message_not_editable",
                "Only text messages can be edited; delete a file message and send another instead.");
        }

        if (message.Text == text)
        {
            // A repeat (or an edit to the current text) is no news: nothing is written or published.
            return Replayed(http, message);
        }

        var now = StoredTime(time);
        var seq = await NextSeqAsync(db, message.ConversationId, cancellationToken);
        db.MessageEdits.Add(new MessageEdit
        {
            MessageId = messageId,
            Seq = seq,
            PreviousText = message.Text ?? "",
            Text = text,
            IdempotencyKey = idempotencyKey,
            EditedAt = now,
        });
        message.Text = text;
        message.EditedAt = now;
        message.ChangeSeq = seq;
        var payload = new MessagePayload(message.PayloadType, text, null);
        db.Enqueue(Topics.MessageCreated, message.ConversationId.ToString(),
            new MessageUpdated(messageId, message.ConversationId, seq, message.Seq, message.SenderId, payload, now), now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Notify();
        return TypedResults.Ok(Changed(message));
    }

    public static async Task<Results<Ok<MessageChanged>, ProblemHttpResult>> DeleteMessage(
        Guid messageId, HttpContext http, MessagingDbContext db, OutboxSignal outbox, TimeProvider time, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockOwnAsync(db, messageId, http, cancellationToken) is not { } message)
        {
            return MessageNotFound();
        }

        if (message.DeletedAt is not null)
        {
            return Replayed(http, message); // deleted already: the same answer, nothing written
        }

        var now = StoredTime(time);
        var seq = await NextSeqAsync(db, message.ConversationId, cancellationToken);
        // A tombstone keeps who sent what kind of message at which seq, and nothing of its content.
        await db.MessageEdits.Where(e => e.MessageId == messageId).ExecuteDeleteAsync(cancellationToken);
        message.Text = null;
        message.FileId = null;
        message.DeletedAt = now;
        message.ChangeSeq = seq;
        db.Enqueue(Topics.MessageCreated, message.ConversationId.ToString(),
            new MessageDeleted(messageId, message.ConversationId, seq, message.Seq, message.SenderId, message.PayloadType, now), now);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outbox.Notify();
        return TypedResults.Ok(Changed(message));
    }

    public static async Task<Results<Ok<MessageEditsPage>, ProblemHttpResult>> GetEdits(
        Guid messageId, HttpContext http, MessagingDbContext db, CancellationToken cancellationToken)
    {
        var conversationId = await db.Messages.Where(m => m.Id == messageId).Select(m => (Guid?)m.ConversationId).SingleOrDefaultAsync(cancellationToken);
        if (conversationId is null || await db.CheckMemberAsync(conversationId.Value, http, cancellationToken) is not null)
        {
            return MessageNotFound();
        }

        var edits = await db.MessageEdits.AsNoTracking().Where(e => e.MessageId == messageId).OrderBy(e => e.Seq)
            .Select(e => new MessageEditView(e.Seq, e.PreviousText, e.Text, e.EditedAt)).ToListAsync(cancellationToken);
        return TypedResults.Ok(new MessageEditsPage(messageId, edits));
    }

    /// <summary>
    /// The caller's own message, locked for the change so concurrent edits and deletes of it run one at
    /// a time; null when it does not exist, is someone else's, or its conversation is not the caller's
    /// (another tenant, or no longer a member) — one answer for all, so ids reveal nothing.
    /// </summary>
    private static async Task<Message?> LockOwnAsync(MessagingDbContext db, Guid messageId, HttpContext http, CancellationToken cancellationToken)
    {
        var caller = http.CallerId();
        var message = (await db.Messages.FromSql($"SELECT * FROM messaging.messages WHERE message_id = {messageId} FOR UPDATE")
            .ToListAsync(cancellationToken)).SingleOrDefault();
        if (message is null || message.SenderId != caller)
        {
            return null;
        }

        return await db.CheckMemberAsync(message.ConversationId, http, cancellationToken) is null ? message : null;
    }

    /// <summary>The conversation's next seq, taken under its row lock (the lock the send path takes), held to commit.</summary>
    private static async Task<long> NextSeqAsync(MessagingDbContext db, Guid conversationId, CancellationToken cancellationToken) =>
        await db.Database.SqlQuery<long>(
                $"UPDATE messaging.conversations SET last_seq = last_seq + 1 WHERE conversation_id = {conversationId} RETURNING last_seq AS \"Value\"")
            .ToListAsync(cancellationToken) is [var seq] ? seq : throw new InvalidOperationException("The conversation vanished mid-change.");

    private static Ok<MessageChanged> Replayed(HttpContext http, Message message)
    {
        http.Response.Headers[MessagesApi.ReplayedHeader] = "true";
        return TypedResults.Ok(Changed(message));
    }

    private static MessageChanged Changed(Message m) =>
        new(m.Id, m.ConversationId, m.Seq, m.ChangeSeq, new MessagePayload(m.PayloadType, m.Text, m.FileId), m.EditedAt, m.DeletedAt);

    /// <summary>Now, at PostgreSQL's microsecond precision, so the first answer and every repeat read back the same time.</summary>
    private static DateTimeOffset StoredTime(TimeProvider time)
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
    }

    private static ProblemHttpResult MessageNotFound() => Problems.NotFound("message_not_found", "No such message.");
}
