namespace Chat4All.Delivery.Subscriptions;

/// <summary>Values of <see cref="WebhookSubscription.Scope"/>.</summary>
public static class WebhookScopes
{
    /// <summary>Events of the conversations the owner is a member of (and events about the owner).</summary>
    public const string User = "user";

    /// <summary>Every event of the owner's tenant; needs the admin scope.</summary>
    public const string Tenant = "tenant";
}

/// <summary>Values of <see cref="WebhookSubscription.Status"/>.</summary>
public static class WebhookSubscriptionStatuses
{
    public const string Active = "active";
    public const string Disabled = "disabled";
}

/// <summary>Values of <see cref="WebhookDelivery.Status"/>: pending until a 2xx, then succeeded (it never gives up on its own, see ADR 0050).</summary>
public static class WebhookDeliveryStatuses
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
}

/// <summary>An integrator's subscription: which events go to which URL, signed with which secret.</summary>
public sealed class WebhookSubscription
{
    /// <summary>Any event type (<c>events: ["*"]</c>), those added later included.</summary>
    public const string AllEvents = "*";

    public Guid Id { get; init; }

    public Guid TenantId { get; init; }

    public Guid OwnerId { get; init; }

    public required string Scope { get; init; }

    public required string Url { get; init; }

    public required List<string> Events { get; init; }

    /// <summary>The <c>whsec_</c> signing secret; returned once, when the subscription is created.</summary>
    public required string Secret { get; init; }

    public required string Status { get; set; }

    /// <summary>Failed attempts since the last success, over all of the subscription's deliveries.</summary>
    public int ConsecutiveFailures { get; set; }

    /// <summary>The first failure since the last success (null while healthy).</summary>
    public DateTimeOffset? FailingSince { get; set; }

    public string? DisabledReason { get; set; }

    public DateTimeOffset? DisabledAt { get; set; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// One event for one subscription. <see cref="Id"/> is the <c>webhook-id</c> of every attempt (and
/// replay), so receivers dedupe on it; (subscription, event) is unique, so a redelivered event makes
/// no second row. <see cref="Position"/> orders deliveries of one <see cref="OrderingKey"/>.
/// </summary>
public sealed class WebhookDelivery
{
    public Guid Id { get; init; }

    public long Position { get; init; }

    public Guid SubscriptionId { get; init; }

    public Guid EventId { get; init; }

    public required string EventType { get; init; }

    /// <summary>The conversation id (or the event's partition key when it has none): deliveries of one key go out one at a time, in order.</summary>
    public required string OrderingKey { get; init; }

    public Guid? ConversationId { get; init; }

    /// <summary>The JSON body sent, fixed when the event is enqueued.</summary>
    public required string Body { get; init; }

    public required string Status { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset? ClaimedUntil { get; set; }

    public string? LastError { get; set; }

    public int? LastResponseCode { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? DeliveredAt { get; set; }
}

/// <summary>Webhook fan-out's view of a conversation: its tenant and members, learned from events (never by calling messaging).</summary>
public sealed class WebhookConversation
{
    public Guid ConversationId { get; init; }

    public Guid TenantId { get; set; }

    public required List<Guid> Members { get; set; }
}

/// <summary>Which tenant a user belongs to, learned from events; routes events that name a user but no conversation.</summary>
public sealed class WebhookUser
{
    public Guid UserId { get; init; }

    public Guid TenantId { get; set; }
}
