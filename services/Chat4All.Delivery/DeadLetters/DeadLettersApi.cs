using System.Globalization;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Chat4All.Delivery.Data;
using Chat4All.Delivery.Deliveries;
using Chat4All.ServiceDefaults.Audit;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Chat4All.ServiceDefaults.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Chat4All.Contracts.Delivery;

namespace Chat4All.Delivery.DeadLetters;

/// <summary>
/// Operators' view of deliveries that failed for good (scope admin): list the open ones, newest
/// first, and replay one — it goes back to pending with a fresh set of attempts, and the dead letter
/// is closed (a new failure opens it again).
/// </summary>
public static class DeadLettersApi
{
    public static IEndpointRouteBuilder MapDeadLettersApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/admin/deliveries/dead-letters").RequireAuthorization(ChatScopes.Admin).WithTags("Delivery operations");
        group.MapGet("/", ListAsync).WithName("ListDeadLetters")
            .WithSummary("List dead-lettered deliveries")
            .WithDescription("Deliveries that failed for good, with their reasons, newest first. Scope `admin`.");
        group.MapPost("/{deliveryId:guid}/replay", ReplayAsync).WithName("ReplayDeadLetter")
            .WithSummary("Replay a dead-lettered delivery")
            .WithDescription("Sends a dead-lettered delivery again (202); it is delivered shortly after if the channel works. Scope `admin`.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        return endpoints;
    }

    public static async Task<Results<Ok<DeadLetterPage>, ValidationProblem>> ListAsync(DeliveryDbContext db, CancellationToken cancellationToken,
        int? limit = null, string? cursor = null, string? channel = null)
    {
        var take = limit ?? Cursor.DefaultLimit;
        if (take is < 1 or > Cursor.MaxLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be 1..{Cursor.MaxLimit}."] });
        }

        var query = db.DeadLetters.AsNoTracking().Where(d => d.ReplayedAt == null);
        if (channel?.ToLowerInvariant() is { } wanted)
        {
            query = query.Where(d => d.Channel == wanted);
        }

        if (cursor is not null)
        {
            if (DecodeCursor(cursor) is not var (at, id))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["cursor"] = ["The cursor is not valid."] });
            }

            query = query.Where(d => d.DeadLetteredAt < at || (d.DeadLetteredAt == at && d.DeliveryId.CompareTo(id) < 0));
        }

        var rows = await query.OrderByDescending(d => d.DeadLetteredAt).ThenByDescending(d => d.DeliveryId).Take(take + 1).ToListAsync(cancellationToken);
        var hasMore = rows.Count > take;
        rows = [.. rows.Take(take)];
        var next = hasMore ? EncodeCursor(rows[^1]) : null;
        return TypedResults.Ok(new DeadLetterPage(
            [.. rows.Select(d => new DeadLetterView(d.DeliveryId, d.MessageId, d.ConversationId, d.RecipientId, d.Channel, d.Attempts, d.Reason, d.DeadLetteredAt))],
            next, hasMore));
    }

    public static async Task<Results<Accepted<ReplayAccepted>, ProblemHttpResult>> ReplayAsync(Guid deliveryId, HttpContext http, DeliveryDbContext db,
        IStateStore store, DeliveryDispatcher dispatcher, TimeProvider time, AuditLog audit, CancellationToken cancellationToken)
    {
        var deadLetter = await db.DeadLetters.SingleOrDefaultAsync(d => d.DeliveryId == deliveryId, cancellationToken);
        if (deadLetter is null)
        {
            return Problems.NotFound("dead_letter_not_found", "No dead-lettered delivery with that id.");
        }

        if (deadLetter.ReplayedAt is not null)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "already_replayed", "This dead letter was already replayed.");
        }

        var item = await store.GetAsync<DeliveryRecord>(deadLetter.Key, cancellationToken);
        if (item is null || item.Value.Status != DeliveryStatuses.Failed)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "not_failed", "The delivery is not in the failed state.");
        }

        var now = time.GetUtcNow();
        var replay = item.Value with
        {
            Status = DeliveryRecord.Pending,
            Attempts = 0,
            NextAttemptAt = now,
            PublishedStatus = DeliveryStatuses.Accepted,
            UpdatedAt = now,
        };
        try
        {
            // old_status failed → accepted: the one event that may move messaging's receipt out of failed.
            await store.ExecuteAsync([new StateUpsert(deadLetter.Key, replay, item.ETag)],
                [DeliveryProcessor.StatusEvent(item.Value, DeliveryStatuses.Accepted, null, now)], cancellationToken);
        }
        catch (StateConcurrencyException)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "concurrent_change", "The delivery changed meanwhile; look again.");
        }

        var actor = http.CallerId();
        deadLetter.ReplayedAt = now;
        deadLetter.ReplayedBy = actor;
        await db.SaveChangesAsync(cancellationToken);
        dispatcher.Schedule(deadLetter.Key, now);
        audit.DeliveryReplayed(deliveryId, deadLetter.MessageId, deadLetter.Channel, actor);
        return TypedResults.Accepted((string?)null, new ReplayAccepted(deliveryId, DeliveryStatuses.Accepted));
    }

    private static string EncodeCursor(DeadLetter last) =>
        Cursor.Encode(string.Create(CultureInfo.InvariantCulture, $"{last.DeadLetteredAt.UtcTicks}:{last.DeliveryId:N}"));

    private static (DateTimeOffset At, Guid Id)? DecodeCursor(string cursor) =>
        Cursor.Decode(cursor)?.Split(':') is [var ticks, var id] && long.TryParse(ticks, CultureInfo.InvariantCulture, out var t) && t >= 0 &&
        t <= DateTimeOffset.MaxValue.UtcTicks && Guid.TryParseExact(id, "N", out var g)
            ? (new DateTimeOffset(t, TimeSpan.Zero), g)
            : null;
}
