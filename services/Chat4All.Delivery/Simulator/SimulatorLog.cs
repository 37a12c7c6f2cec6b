using Microsoft.Extensions.Logging;

namespace Chat4All.Delivery.Simulator;

/// <summary>Source-generated log messages of the channel simulator (event ids 7100–7199).</summary>
internal static partial class SimulatorLog
{
    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Simulated channel providers POST webhooks to {WebhookBaseUrl}")]
    public static partial void WebhookTarget(ILogger logger, Uri webhookBaseUrl);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning,
        Message = "Simulated channel webhooks are waiting: Chat4All:Delivery:Simulator:WebhookBaseUrl is not set and this host has no HTTP listening address")]
    public static partial void NoWebhookTarget(ILogger logger);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning,
        Message = "Webhook {WebhookId} of {Channel} failed (attempt {Attempt} of {MaxAttempts}): {Error}; retrying in {Delay}")]
    public static partial void WebhookFailed(ILogger logger, string webhookId, string channel, int attempt, int maxAttempts, string error, TimeSpan delay);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Error, Message = "Webhook {WebhookId} of {Channel} dropped after {Attempts} attempts: {Error}")]
    public static partial void WebhookDropped(ILogger logger, string webhookId, string channel, int attempts, string error);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Warning, Message = "Redis unavailable to the simulated channels' webhook dispatcher; retrying in {Delay}")]
    public static partial void RedisUnavailable(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(EventId = 7106, Level = LogLevel.Information, Message = "Generated the webhook secret of simulated channel {Channel} in {Path}")]
    public static partial void WebhookSecretGenerated(ILogger logger, string channel, string path);

    [LoggerMessage(EventId = 7107, Level = LogLevel.Warning, Message = "Outage switch of simulated channel {Channel} set to {Down}")]
    public static partial void OutageSwitched(ILogger logger, string channel, bool down);

    [LoggerMessage(EventId = 7108, Level = LogLevel.Error,
        Message = "Webhook {WebhookId} of {Channel} could not be sent; it stays claimed and is tried again when the claim expires")]
    public static partial void WebhookError(ILogger logger, Exception exception, string webhookId, string channel);

    [LoggerMessage(EventId = 7109, Level = LogLevel.Error, Message = "Discarded an unreadable entry of the simulated channels' webhook queue {Key}")]
    public static partial void UnreadableWebhookDiscarded(ILogger logger, Exception exception, string key);
}
