using System.Globalization;
using System.Text.Json.Serialization;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Data;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Chat4All.ServiceDefaults.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using Chat4All.Contracts.Webhooks;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>
/// <c>/v1/webhooks/subscriptions</c>: integrators subscribe a URL to event types and receive them as
/// signed POSTs (docs/api.md, ADR 0050). A subscription is the caller's (events of their
/// conversations) or, with the admin scope and <c>scope: "tenant"</c>, the tenant's (every event).
/// Owners see and manage their own; admins every subscription of their tenant; anyone else — other
/// users, other tenants — gets 404, as if it did not exist.
/// </summary>
public static class WebhookSubscriptionsApi
{
    public static IEndpointRouteBuilder MapWebhookSubscriptionsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/webhooks/subscriptions").RequireAuthorization().WithTags("Webhook subscriptions");
        group.MapPost("", CreateAsync).WithName("CreateWebhookSubscription")
            .WithSummary("Subscribe a URL to events")
            .WithDescription("Creates a subscription that POSTs the given event types (catalog names, or \"*\" for all) to url, signed per Standard Webhooks. " +
                             "The signing secret (whsec_…) is generated when none is given and returned only in this response. scope \"tenant\" (every event of the tenant) needs the admin scope. " +
                             "The URL must be http(s) and resolve to addresses webhooks may reach (no loopback, link-local, private… unless allowed by configuration).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapGet("", ListAsync).WithName("ListWebhookSubscriptions")
            .WithSummary("List webhook subscriptions")
            .WithDescription("The caller's subscriptions; with the admin scope, every subscription of the tenant. Secrets are never listed.");
        group.MapGet("/{subscriptionId:guid}", GetAsync).WithName("GetWebhookSubscription")
            .WithSummary("Get a webhook subscription")
            .WithDescription("One subscription with its health: status (active or disabled), consecutive failures, since when it fails, why it was disabled.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{subscriptionId:guid}", DeleteAsync).WithName("DeleteWebhookSubscription")
            .WithSummary("Delete a webhook subscription")
            .WithDescription("Stops every delivery of the subscription at once and forgets its delivery log.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{subscriptionId:guid}/enable", EnableAsync).WithName("EnableWebhookSubscription")
            .WithSummary("Re-enable a disabled webhook subscription")
            .WithDescription("Resumes a subscription disabled after failing continuously: its pending deliveries are sent again from the oldest, in order, and its failure count starts over.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{subscriptionId:guid}/deliveries", ListDeliveriesAsync).WithName("ListWebhookDeliveries")
            .WithSummary("The delivery log of a webhook subscription")
            .WithDescription("Deliveries newest first (limit 1..100, default 50; cursor from next_cursor; status pending or succeeded): attempts, last error and the receiver's last status code.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{subscriptionId:guid}/deliveries/{deliveryId:guid}/replay", ReplayAsync).WithName("ReplayWebhookDelivery")
            .WithSummary("Send a webhook delivery again")
            .WithDescription("Puts the delivery back in line with a fresh attempt count, due now, under the same webhook-id (a receiver that already processed it can recognise it).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    public static async Task<Results<Created<WebhookSubscriptionView>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateWebhookSubscriptionRequest request, HttpContext http, DeliveryDbContext db, WebhookTargetPolicy policy, IOptions<WebhookOptions> options,
        ActiveSubscriptions active, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (WebhookTargetPolicy.CheckShape(request.Url, out var uri) is { } urlError)
        {
            errors["url"] = [urlError];
        }

        var events = request.Events?.Select(e => e?.Trim() ?? string.Empty).Distinct(StringComparer.Ordinal).ToList() ?? [];
        var unknown = events.Where(e => e != WebhookSubscription.AllEvents && EventCatalog.Events.All(c => c.Topic != e)).ToList();
        if (events.Count == 0)
        {
            errors["events"] = ["events must list at least one event type, or \"*\" for all."];
        }
        else if (unknown.Count > 0)
        {
            errors["events"] = [$"Unknown event types: {string.Join(", ", unknown)}. Known: {string.Join(", ", EventCatalog.Events.Select(c => c.Topic))}, or \"*\"."];
        }

        if (request.Secret is not null && !StandardWebhooks.IsValidSecret(request.Secret))
        {
            errors["secret"] = [$"secret must be '{StandardWebhooks.SecretPrefix}' followed by a base64-encoded key of at least 16 bytes, or left out to have one generated."];
        }
        else if (request.Secret is { Length: > 100 })
        {
            errors["secret"] = ["secret must be at most 100 characters."];
        }

        var scope = request.Scope ?? WebhookScopes.User;
        if (scope is not (WebhookScopes.User or WebhookScopes.Tenant))
        {
            errors["scope"] = ["scope must be \"user\" or \"tenant\"."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (scope is WebhookScopes.Tenant && !http.User.HasScope(ChatScopes.Admin))
        {
            return Problems.Problem(StatusCodes.Status403Forbidden, "admin_scope_required", "A tenant-wide subscription needs the admin scope.");
        }

        var (_, refusal) = await policy.ResolveAsync(uri!.Host, cancellationToken);
        if (refusal is not null)
        {
            return Problems.Problem(StatusCodes.Status422UnprocessableEntity, "webhook_target_refused", $"Webhooks cannot be sent to {uri.Host}: {refusal}.");
        }

        var owner = http.CallerId();
        if (await db.WebhookSubscriptions.CountAsync(s => s.OwnerId == owner, cancellationToken) >= options.Value.MaxSubscriptionsPerUser)
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "too_many_subscriptions",
                $"A user may own at most {options.Value.MaxSubscriptionsPerUser} webhook subscriptions; delete one first.");
        }

        var secret = request.Secret ?? StandardWebhooks.GenerateSecret();
        var subscription = new WebhookSubscription
        {
            Id = Guid.CreateVersion7(),
            TenantId = http.CallerTenantId(),
            OwnerId = owner,
            Scope = scope,
            Url = uri.AbsoluteUri,
            Events = events,
            Secret = secret.StartsWith(StandardWebhooks.SecretPrefix, StringComparison.Ordinal) ? secret : StandardWebhooks.SecretPrefix + secret,
            Status = WebhookSubscriptionStatuses.Active,
            CreatedAt = time.GetUtcNow(),
        };
        db.WebhookSubscriptions.Add(subscription);
        await db.SaveChangesAsync(cancellationToken);
        active.Changed();
        return TypedResults.Created($"/v1/webhooks/subscriptions/{subscription.Id}", View(subscription) with { Secret = subscription.Secret });
    }

    public static async Task<Ok<WebhookSubscriptionList>> ListAsync(HttpContext http, DeliveryDbContext db, CancellationToken cancellationToken)
    {
        var items = await Visible(db, http).AsNoTracking().OrderBy(s => s.CreatedAt).ThenBy(s => s.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(new WebhookSubscriptionList([.. items.Select(View)]));
    }

    public static async Task<Results<Ok<WebhookSubscriptionView>, ProblemHttpResult>> GetAsync(Guid subscriptionId, HttpContext http, DeliveryDbContext db,
        CancellationToken cancellationToken) =>
        await Visible(db, http).AsNoTracking().SingleOrDefaultAsync(s => s.Id == subscriptionId, cancellationToken) is { } subscription
            ? TypedResults.Ok(View(subscription))
            : NotFound();

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid subscriptionId, HttpContext http, DeliveryDbContext db,
        CancellationToken cancellationToken) =>
        await Visible(db, http).Where(s => s.Id == subscriptionId).ExecuteDeleteAsync(cancellationToken) == 1 ? TypedResults.NoContent() : NotFound();

    public static async Task<Results<Ok<WebhookSubscriptionView>, ProblemHttpResult>> EnableAsync(Guid subscriptionId, HttpContext http, DeliveryDbContext db,
        WebhookSender sender, ActiveSubscriptions active, CancellationToken cancellationToken)
    {
        var subscription = await Visible(db, http).SingleOrDefaultAsync(s => s.Id == subscriptionId, cancellationToken);
        if (subscription is null)
        {
            return NotFound();
        }

        subscription.Status = WebhookSubscriptionStatuses.Active;
        subscription.ConsecutiveFailures = 0;
        subscription.FailingSince = null;
        subscription.DisabledAt = null;
        subscription.DisabledReason = null;
        await db.SaveChangesAsync(cancellationToken);
        active.Changed();
        sender.Wake();
        return TypedResults.Ok(View(subscription));
    }

    public static async Task<Results<Ok<WebhookDeliveryPage>, ValidationProblem, ProblemHttpResult>> ListDeliveriesAsync(Guid subscriptionId, HttpContext http,
        DeliveryDbContext db, CancellationToken cancellationToken, int? limit = null, string? cursor = null, string? status = null)
    {
        var take = limit ?? Cursor.DefaultLimit;
        var errors = new Dictionary<string, string[]>();
        if (take is < 1 or > Cursor.MaxLimit)
        {
            errors["limit"] = [$"limit must be 1..{Cursor.MaxLimit}."];
        }

        long? before = null;
        if (cursor is not null)
        {
            if (long.TryParse(Cursor.Decode(cursor), NumberStyles.None, CultureInfo.InvariantCulture, out var position))
            {
                before = position;
            }
            else
            {
                errors["cursor"] = ["The cursor is not valid."];
            }
        }

        if (status is not (null or WebhookDeliveryStatuses.Pending or WebhookDeliveryStatuses.Succeeded))
        {
            errors["status"] = ["status must be pending or succeeded."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (!await Visible(db, http).AnyAsync(s => s.Id == subscriptionId, cancellationToken))
        {
            return NotFound();
        }

        var query = db.WebhookDeliveries.AsNoTracking().Where(d => d.SubscriptionId == subscriptionId);
        if (status is not null)
        {
            query = query.Where(d => d.Status == status);
        }

        if (before is { } b)
        {
            query = query.Where(d => d.Position < b);
        }

        var rows = await query.OrderByDescending(d => d.Position).Take(take + 1).ToListAsync(cancellationToken);
        var hasMore = rows.Count > take;
        rows = [.. rows.Take(take)];
        return TypedResults.Ok(new WebhookDeliveryPage(
            [.. rows.Select(d => new WebhookDeliveryView(d.Id, d.EventId, d.EventType, d.ConversationId, d.Status, d.Attempts, d.LastError, d.LastResponseCode,
                d.CreatedAt, d.Status == WebhookDeliveryStatuses.Pending ? d.NextAttemptAt : null, d.DeliveredAt))],
            hasMore ? Cursor.Encode(rows[^1].Position.ToString(CultureInfo.InvariantCulture)) : null,
            hasMore));
    }

    public static async Task<Results<Accepted<WebhookDeliveryView>, ProblemHttpResult>> ReplayAsync(Guid subscriptionId, Guid deliveryId, HttpContext http,
        DeliveryDbContext db, WebhookSender sender, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!await Visible(db, http).AnyAsync(s => s.Id == subscriptionId, cancellationToken))
        {
            return NotFound();
        }

        var delivery = await db.WebhookDeliveries.SingleOrDefaultAsync(d => d.Id == deliveryId && d.SubscriptionId == subscriptionId, cancellationToken);
        if (delivery is null)
        {
            return Problems.NotFound("webhook_delivery_not_found", "The subscription has no delivery with that id.");
        }

        delivery.Status = WebhookDeliveryStatuses.Pending;
        delivery.Attempts = 0;
        delivery.NextAttemptAt = time.GetUtcNow();
        delivery.DeliveredAt = null;
        await db.SaveChangesAsync(cancellationToken);
        sender.Wake();
        return TypedResults.Accepted($"/v1/webhooks/subscriptions/{subscriptionId}/deliveries",
            new WebhookDeliveryView(delivery.Id, delivery.EventId, delivery.EventType, delivery.ConversationId, delivery.Status, delivery.Attempts,
                delivery.LastError, delivery.LastResponseCode, delivery.CreatedAt, delivery.NextAttemptAt, null));
    }

    /// <summary>What the caller may see: their own subscriptions, or with the admin scope every one of their tenant — never another tenant's.</summary>
    private static IQueryable<WebhookSubscription> Visible(DeliveryDbContext db, HttpContext http)
    {
        var tenant = http.CallerTenantId();
        var caller = http.CallerId();
        var admin = http.User.HasScope(ChatScopes.Admin);
        return db.WebhookSubscriptions.Where(s => s.TenantId == tenant && (admin || s.OwnerId == caller));
    }

    private static ProblemHttpResult NotFound() => Problems.NotFound("webhook_subscription_not_found", "No webhook subscription with that id.");

    private static WebhookSubscriptionView View(WebhookSubscription s) =>
        new(s.Id, s.Url, s.Events, s.Scope, s.OwnerId, s.Status, s.ConsecutiveFailures, s.FailingSince, s.DisabledReason, s.DisabledAt, s.CreatedAt);
}
