using System.Buffers;
using System.Text;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Delivery.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Chat4All.Delivery.Subscriptions;

/// <summary>
/// Consumes every topic of the event catalog and turns each event into one pending delivery per
/// matching active subscription, in one INSERT that ignores (subscription, event) pairs already
/// there, so a redelivered event adds nothing. It knows no event type: it reads the snake_case
/// fields every event uses. <c>conversation_id</c> makes an event a conversation's (its members
/// are the audience of per-user subscriptions; the conversation's tenant picks tenant
/// subscriptions); an event that carries <c>members</c> (the whole list) updates who the members
/// are, and both the old and new members hear of that change; <c>sender_id</c> + <c>recipients</c>
/// (a message) is exactly its audience. Without a conversation, the users the event names
/// (<c>user_id</c>, …) are the audience and their tenant is the event's. An event whose tenant is
/// unknown still reaches the per-user subscriptions of the users it names, but no tenant-wide one;
/// it is counted, not retried (retrying cannot teach the tenant, and would hold up the router).
/// It takes each read batch at once and looks at the subscriptions once for it: only the events
/// whose topic an active subscription wants, and those that carry a member list, are parsed at all.
/// Every step is idempotent, so a batch that fails is safely handled again event by event.
/// </summary>
public sealed partial class WebhookFanOut(DeliveryDbContext db, WebhookSender sender, WebhookMetrics metrics, ActiveSubscriptions active, TimeProvider time,
    ILogger<WebhookFanOut> logger)
    : IIntegrationEventBatchConsumer
{
    /// <summary>How an event that carries the whole member list starts that field, as our serializer writes it (no space before the colon).</summary>
    private const string MembersField = "\"members\":";
    /// <summary>Fields that name a user, in any event.</summary>
    private static readonly string[] UserFields = ["user_id", "sender_id", "recipient_id", "owner_id", "created_by"];

    /// <summary>Fields that list users, in any event.</summary>
    private static readonly string[] UserListFields = ["members", "recipients", "user_ids"];

    public Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken) =>
        HandleBatchAsync([integrationEvent], cancellationToken);

    public async Task HandleBatchAsync(IReadOnlyList<IntegrationEvent> integrationEvents, CancellationToken cancellationToken)
    {
        var subscribed = await active.TopicsAsync(db, cancellationToken);
        foreach (var integrationEvent in integrationEvents)
        {
            // With no subscriber for its topic there is nothing to enqueue; only the view of members must stay current.
            var wanted = subscribed.Wants(integrationEvent.Topic);
            if (wanted || CarriesMembers(integrationEvent))
            {
                await HandleOneAsync(integrationEvent, wanted, cancellationToken);
            }
        }
    }

    private static bool CarriesMembers(IntegrationEvent integrationEvent) =>
        integrationEvent.Data.Contains(MembersField, StringComparison.Ordinal);

    private async Task HandleOneAsync(IntegrationEvent integrationEvent, bool wanted, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(integrationEvent.Data);
        var data = document.RootElement;
        var conversationId = GuidField(data, "conversation_id");
        var eventTenant = GuidField(data, "tenant_id");
        var named = NamedUsers(data);
        var members = data.ValueKind is JsonValueKind.Object && data.TryGetProperty("members", out var m) && m.ValueKind is JsonValueKind.Array
            ? GuidList(m)
            : null;

        if (members is null && !wanted)
        {
            return;
        }

        // sender + recipients is who the conversation's members were when the message was written:
        // exactly its audience (among the named users), even if delivery's view of the members is behind.
        var namesItsAudience = members is null && GuidField(data, "sender_id") is not null &&
            data.TryGetProperty("recipients", out var recipients) && recipients.ValueKind is JsonValueKind.Array;
        Guid? tenant = eventTenant;
        List<Guid> audience = [.. named];
        if (conversationId is { } conversation)
        {
            var known = await db.WebhookConversations.AsNoTracking().SingleOrDefaultAsync(c => c.ConversationId == conversation, cancellationToken);
            tenant ??= known?.TenantId ?? await TenantOfAsync(named, cancellationToken);
            if (known is not null && !namesItsAudience)
            {
                // Old members too: a removed member hears of the removal (and of nothing after it).
                audience.AddRange(known.Members);
            }

            if (members is not null && tenant is { } t)
            {
                var list = members.ToArray();
                await db.Database.ExecuteSqlAsync($"""
                    INSERT INTO delivery.webhook_conversations (conversation_id, tenant_id, members) VALUES ({conversation}, {t}, {list})
                    ON CONFLICT (conversation_id) DO UPDATE SET members = excluded.members
                    """, cancellationToken);
            }
        }
        else
        {
            tenant ??= await TenantOfAsync(named, cancellationToken);
        }

        var audienceArray = audience.Distinct().ToArray();
        if (tenant is null)
        {
            // Per-user subscriptions can still match by the users the event names (members of one
            // conversation share a tenant); tenant-wide ones cannot.
            metrics.Unroutable(integrationEvent.Topic);
            LogUnroutable(logger, integrationEvent.Id, integrationEvent.Topic);
            if (audienceArray.Length == 0)
            {
                return;
            }
        }

        // Members of one conversation share its tenant (ADR 0028): remember it for events that name only a user.
        var tenantUsers = (members ?? []).Concat(eventTenant is null ? [] : named).Distinct().ToArray();
        if (tenant is { } learnt && tenantUsers.Length > 0)
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO delivery.webhook_users (user_id, tenant_id) SELECT u, {learnt} FROM unnest({tenantUsers}) AS u
                ON CONFLICT (user_id) DO NOTHING
                """, cancellationToken);
        }

        if (!wanted)
        {
            return; // the view of members is current; no subscription wants this topic
        }

        var body = Body(integrationEvent);
        var orderingKey = conversationId?.ToString() ?? (integrationEvent.PartitionKey.Length > 0 ? integrationEvent.PartitionKey : integrationEvent.Id.ToString());
        var now = time.GetUtcNow();
        var tenantKnown = tenant is not null;
        var tenantId = tenant ?? Guid.Empty;
        var enqueued = await db.Database.ExecuteSqlAsync($"""
            INSERT INTO delivery.webhook_deliveries
                (id, subscription_id, event_id, event_type, ordering_key, conversation_id, body, status, attempts, next_attempt_at, created_at)
            SELECT gen_random_uuid(), s.id, {integrationEvent.Id}, {integrationEvent.Topic}, {orderingKey}, {conversationId}, {body},
                   {WebhookDeliveryStatuses.Pending}, 0, {now}, {now}
            FROM delivery.webhook_subscriptions s
            WHERE s.status = {WebhookSubscriptionStatuses.Active}
              AND (s.events @> ARRAY[{WebhookSubscription.AllEvents}]::text[] OR s.events @> ARRAY[{integrationEvent.Topic}]::text[])
              AND ((s.scope = {WebhookScopes.Tenant} AND {tenantKnown} AND s.tenant_id = {tenantId})
                OR (s.scope = {WebhookScopes.User} AND s.owner_id = ANY({audienceArray}) AND (NOT {tenantKnown} OR s.tenant_id = {tenantId})))
            ON CONFLICT (subscription_id, event_id) DO NOTHING
            """, cancellationToken);
        if (enqueued > 0)
        {
            metrics.Enqueued(integrationEvent.Topic, enqueued);
            sender.Wake();
        }
    }

    /// <summary>
    /// The body every subscriber receives: <c>{id, type, timestamp, data}</c>, where <c>data</c> is the
    /// event exactly as published (the schemas in docs/events/).
    /// </summary>
    public static string Body(IntegrationEvent integrationEvent)
    {
        var buffer = new ArrayBufferWriter<byte>(integrationEvent.Data.Length + 160);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", integrationEvent.Id);
            writer.WriteString("type", integrationEvent.Topic);
            writer.WriteString("timestamp", integrationEvent.OccurredAt);
            writer.WritePropertyName("data");
            writer.WriteRawValue(integrationEvent.Data);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private async Task<Guid?> TenantOfAsync(List<Guid> users, CancellationToken cancellationToken) =>
        users.Count == 0
            ? null
            : await db.WebhookUsers.AsNoTracking().Where(u => users.Contains(u.UserId)).Select(u => (Guid?)u.TenantId).FirstOrDefaultAsync(cancellationToken);

    private static List<Guid> NamedUsers(JsonElement data)
    {
        var users = new List<Guid>();
        if (data.ValueKind is not JsonValueKind.Object)
        {
            return users;
        }

        foreach (var field in UserFields)
        {
            if (GuidField(data, field) is { } user)
            {
                users.Add(user);
            }
        }

        foreach (var field in UserListFields)
        {
            if (data.TryGetProperty(field, out var list) && list.ValueKind is JsonValueKind.Array)
            {
                users.AddRange(GuidList(list));
            }
        }

        return users;
    }

    private static Guid? GuidField(JsonElement data, string name) =>
        data.ValueKind is JsonValueKind.Object && data.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.String && value.TryGetGuid(out var id)
            ? id
            : null;

    private static List<Guid> GuidList(JsonElement list) =>
        [.. list.EnumerateArray().Where(e => e.ValueKind is JsonValueKind.String && e.TryGetGuid(out _)).Select(e => e.GetGuid()).Distinct()];

    [LoggerMessage(Level = LogLevel.Information, Message = "Event {IntegrationEventId} ({Topic}) names no tenant webhooks know of; no subscription can match it")]
    private static partial void LogUnroutable(ILogger logger, Guid integrationEventId, string topic);
}
