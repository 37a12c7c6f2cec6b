using Microsoft.Extensions.Logging;

namespace Chat4All.ServiceDefaults.Audit;

/// <summary>
/// Security-relevant events, logged under the <c>Chat4All.Audit</c> category with an
/// <c>audit_event</c> property so they can be routed and alerted on apart from ordinary logs.
/// </summary>
public sealed partial class AuditLog(ILoggerFactory loggerFactory)
{
    public const string Category = "Chat4All.Audit";

    private readonly ILogger _logger = loggerFactory.CreateLogger(Category);

    [LoggerMessage(EventId = 9001, EventName = "auth.token_rejected", Level = LogLevel.Warning,
        Message = "Token request rejected: {Error} for client {ClientId} from {RemoteIp}")]
    public partial void TokenRejected(string error, string? clientId, string? remoteIp);

    [LoggerMessage(EventId = 9002, EventName = "auth.bearer_rejected", Level = LogLevel.Warning,
        Message = "Bearer token rejected on {Method} {Path} from {RemoteIp}")]
    public partial void BearerRejected(string method, string path, string? remoteIp);

    [LoggerMessage(EventId = 9003, EventName = "auth.token_revoked", Level = LogLevel.Information,
        Message = "Token revocation requested by client {ClientId} from {RemoteIp}")]
    public partial void TokenRevoked(string? clientId, string? remoteIp);

    [LoggerMessage(EventId = 9004, EventName = "ratelimit.exceeded", Level = LogLevel.Warning,
        Message = "Rate limit {Budget} exceeded by user {UserId} on {Method} {Path}")]
    public partial void RateLimitExceeded(string budget, string userId, string method, string path);

    [LoggerMessage(EventId = 9005, EventName = "admin.user_created", Level = LogLevel.Information,
        Message = "User {UserId} ({Name}) with scopes {Scopes} provisioned by {Actor}")]
    public partial void UserProvisioned(Guid userId, string name, string scopes, string actor);

    [LoggerMessage(EventId = 9006, EventName = "auth.forbidden", Level = LogLevel.Warning,
        Message = "User {UserId} lacks the scope for {Method} {Path}")]
    public partial void Forbidden(string? userId, string method, string path);

    [LoggerMessage(EventId = 9007, EventName = "admin.user_changed", Level = LogLevel.Information,
        Message = "User {UserId} {Change} by {Actor}")]
    public partial void UserChanged(Guid userId, string change, string actor);

    [LoggerMessage(EventId = 9008, EventName = "dlq.delivery_dead_lettered", Level = LogLevel.Warning,
        Message = "Delivery {DeliveryId} of message {MessageId} to {RecipientId} on {Channel} dead-lettered after {Attempts} attempt(s): {Reason}")]
    public partial void DeliveryDeadLettered(Guid deliveryId, Guid messageId, Guid recipientId, string channel, int attempts, string reason);

    [LoggerMessage(EventId = 9009, EventName = "dlq.delivery_replayed", Level = LogLevel.Information,
        Message = "Dead-lettered delivery {DeliveryId} of message {MessageId} on {Channel} replayed by {Actor}")]
    public partial void DeliveryReplayed(Guid deliveryId, Guid messageId, string channel, Guid actor);
}
