using System.Text.Json.Serialization;

namespace Chat4All.Contracts.Webhooks;

// The REST bodies of /v1/webhooks/subscriptions (docs/adr/0050).

public sealed record CreateWebhookSubscriptionRequest(string? Url, IReadOnlyList<string?>? Events, string? Secret, string? Scope);

public sealed record WebhookSubscriptionView(
    Guid SubscriptionId,
    string Url,
    IReadOnlyList<string> Events,
    string Scope,
    Guid OwnerId,
    string Status,
    int ConsecutiveFailures,
    DateTimeOffset? FailingSince,
    string? DisabledReason,
    DateTimeOffset? DisabledAt,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Secret = null);

public sealed record WebhookSubscriptionList(IReadOnlyList<WebhookSubscriptionView> Items);

public sealed record WebhookDeliveryView(
    Guid DeliveryId,
    Guid EventId,
    string EventType,
    Guid? ConversationId,
    string Status,
    int Attempts,
    string? LastError,
    int? LastResponseCode,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? DeliveredAt);

public sealed record WebhookDeliveryPage(IReadOnlyList<WebhookDeliveryView> Items, string? NextCursor, bool HasMore);
