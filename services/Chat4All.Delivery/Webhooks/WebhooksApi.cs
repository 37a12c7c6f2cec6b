using System.Diagnostics;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Data;
using Chat4All.Delivery.Deliveries;
using Chat4All.ServiceDefaults.Errors;
using Chat4All.ServiceDefaults.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Delivery.Webhooks;

/// <summary>
/// <c>POST /v1/webhooks/{channel}</c>: where providers report delivery and read receipts and
/// forward messages from channel contacts. Nothing in a webhook is believed before its signature
/// is verified by the channel's connector (401 otherwise); a webhook id already processed is
/// refused (409), and the id is remembered only once processing succeeded, so a provider retrying
/// after a failure is not mistaken for a replay. A report about a message we have not recorded as
/// sent yet (a fast provider) gets 404, and the provider retries.
/// </summary>
public static partial class WebhooksApi
{
    public const long MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder endpoints)
    {
        // "subscriptions" is never a channel. The subscriptions API's literal route wins when both match,
        // but routing drops it for a request whose Content-Type its JSON body does not accept, and this
        // anonymous route would then answer in its place (404 unknown_channel instead of 401 or 415).
        // Any other unknown channel answers 404 here.
        endpoints.MapPost("/v1/webhooks/{channel:regex(^(?!subscriptions$).+$)}", ReceiveAsync)
            .AllowAnonymous() // authenticated by the provider's signature instead of a bearer token
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes))
            .WithTags("Delivery").WithName("ReceiveChannelWebhook")
            .WithSummary("Receive a provider webhook")
            .WithDescription("Delivered and read reports of a channel provider, authenticated by its HMAC signature (no bearer token); a replayed webhook is 409.")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        return endpoints;
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> ReceiveAsync(
        string channel, HttpRequest request, ChannelConnectors connectors, IConnectionMultiplexer redis, IStateStore store, DeliveryDbContext db,
        DeliveryMetrics metrics, IEventBus bus, IOptions<DeliveryOptions> options, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!connectors.TryGet(channel, out var connector))
        {
            return Problems.NotFound("unknown_channel", $"No channel '{channel}'.");
        }

        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        var body = buffer.ToArray();
        var now = time.GetUtcNow();
        var verification = connector.VerifyWebhook(request.Headers, body, now);
        var logger = loggers.CreateLogger(typeof(WebhooksApi).FullName!);
        if (!verification.Valid)
        {
            LogRejected(logger, channel, verification.Error);
            return Problems.Problem(StatusCodes.Status401Unauthorized, "invalid_signature", "The webhook signature is missing, wrong or expired.");
        }

        var replayKey = verification.WebhookId is { } id ? $"chat4all:webhook:{channel}:{id}" : null;
        if (replayKey is not null && await redis.GetDatabase().KeyExistsAsync(replayKey))
        {
            return Problems.Problem(StatusCodes.Status409Conflict, "webhook_replayed", "This webhook was already processed.");
        }

        IReadOnlyList<ChannelCallback> callbacks;
        try
        {
            callbacks = connector.ParseWebhook(body);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "invalid_webhook", ex.Message);
        }

        // A signed body can still carry what no column stores; refused whole, before anything is applied.
        if (callbacks.Any(CarriesNul))
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "invalid_webhook", "Webhook fields must not contain the NUL character (U+0000).");
        }

        // Several status reports in one body (a provider's batch) are applied together: one lookup of
        // their deliveries, one read, one state transaction. Anything else, one callback at a time.
        if (callbacks.Count > 1 && callbacks.All(c => c is ChannelCallback.StatusReport))
        {
            var reports = callbacks.Cast<ChannelCallback.StatusReport>().ToList();
            if (!await ApplyReportsAsync(channel, reports, store, db, metrics, time, cancellationToken))
            {
                return Problems.NotFound("unknown_provider_message", "No delivery has one of those provider message ids (yet); retry later.");
            }

            callbacks = [];
        }

        foreach (var callback in callbacks)
        {
            var handled = callback switch
            {
                ChannelCallback.StatusReport report => await ApplyReportAsync(channel, report, store, db, metrics, time, cancellationToken),
                ChannelCallback.InboundMessage inbound => await ForwardInboundAsync(channel, inbound, store, db, bus, logger, cancellationToken),
                _ => throw new UnreachableException(),
            };
            if (!handled)
            {
                return Problems.NotFound("unknown_provider_message", "No delivery has that provider message id (yet); retry later.");
            }
        }

        if (replayKey is not null)
        {
            await redis.GetDatabase().StringSetAsync(replayKey, "1", options.Value.WebhookReplayWindow);
        }

        return TypedResults.NoContent();
    }

    /// <summary>
    /// Applies a batch of reports in one state transaction, each moving its delivery forward (never
    /// back); false if any provider id is unknown — the others are applied all the same, and applying
    /// them again when the provider retries changes nothing. A delivery reported twice in the batch,
    /// or a batch whose transaction meets a record that moved meanwhile, falls back to one report at
    /// a time, in the batch's order.
    /// </summary>
    private static async Task<bool> ApplyReportsAsync(string channel, List<ChannelCallback.StatusReport> reports, IStateStore store, DeliveryDbContext db,
        DeliveryMetrics metrics, TimeProvider time, CancellationToken cancellationToken)
    {
        if (reports.FirstOrDefault(r => DeliveryRecord.Rank(r.Status) is < 1) is { } invalid)
        {
            throw new FormatException($"'{invalid.Status}' is not a status a provider can report.");
        }

        var ids = reports.Select(r => r.ProviderMessageId).Distinct(StringComparer.Ordinal).ToList();
        var keys = await db.ProviderMessages.AsNoTracking().Where(p => p.Channel == channel && ids.Contains(p.ProviderMessageId))
            .ToDictionaryAsync(p => p.ProviderMessageId, p => p.DeliveryKey, StringComparer.Ordinal, cancellationToken);
        var items = (await store.GetManyAsync<DeliveryRecord>([.. keys.Values.Distinct(StringComparer.Ordinal)], cancellationToken))
            .ToDictionary(i => i.Key, StringComparer.Ordinal);
        var now = time.GetUtcNow();
        var operations = new List<StateOperation>();
        var events = new List<StateEvent>();
        var applied = new List<ChannelCallback.StatusReport>();
        var later = new List<ChannelCallback.StatusReport>();
        var allKnown = true;
        foreach (var report in reports)
        {
            if (!keys.TryGetValue(report.ProviderMessageId, out var key) || !items.TryGetValue(key, out var item))
            {
                allKnown = false;
                continue;
            }

            if (operations.Any(o => o.Key == key))
            {
                later.Add(report); // a state write carries one event: the second report of a delivery goes on its own
                continue;
            }

            if (DeliveryRecord.Rank(report.Status) <= DeliveryRecord.Rank(item.Value.Status))
            {
                continue; // a duplicate, or older news than what we know
            }

            using var span = DeliveryTracing.StartReport(item.Value, report.Status);
            operations.Add(new StateUpsert(key, Reported(item.Value, report, now), item.ETag));
            events.Add(DeliveryProcessor.StatusEvent(item.Value, report.Status, report.Error, report.OccurredAt));
            applied.Add(report);
        }

        try
        {
            await store.ExecuteAsync(operations, events, cancellationToken);
            foreach (var report in applied)
            {
                metrics.StatusChanged(channel, report.Status);
            }
        }
        catch (StateConcurrencyException)
        {
            later.InsertRange(0, applied); // a record moved meanwhile: each report again, alone, on a fresh read
        }

        foreach (var report in later)
        {
            allKnown &= await ApplyReportAsync(channel, report, store, db, metrics, time, cancellationToken);
        }

        return allKnown;
    }

    /// <summary>The record as <paramref name="report"/> leaves it.</summary>
    private static DeliveryRecord Reported(DeliveryRecord record, ChannelCallback.StatusReport report, DateTimeOffset now) => record with
    {
        Status = report.Status,
        PublishedStatus = report.Status,
        // A fast provider can report before our own sent write lands; the report completes it.
        ProviderMessageId = record.ProviderMessageId ?? report.ProviderMessageId,
        SentAt = record.SentAt ?? now,
        LastError = report.Error ?? record.LastError,
        UpdatedAt = now,
    };

    /// <summary>Moves the delivery forward (never back) and announces it; false if the provider id is unknown.</summary>
    private static async Task<bool> ApplyReportAsync(string channel, ChannelCallback.StatusReport report, IStateStore store, DeliveryDbContext db,
        DeliveryMetrics metrics, TimeProvider time, CancellationToken cancellationToken)
    {
        if (DeliveryRecord.Rank(report.Status) is < 1)
        {
            throw new FormatException($"'{report.Status}' is not a status a provider can report.");
        }

        var deliveryKey = await DeliveryKeyAsync(db, channel, report.ProviderMessageId, cancellationToken);
        if (deliveryKey is null)
        {
            return false;
        }

        for (var attempt = 0; ; attempt++)
        {
            var item = await store.GetAsync<DeliveryRecord>(deliveryKey, cancellationToken);
            if (item is null)
            {
                return false;
            }

            var record = item.Value;
            if (DeliveryRecord.Rank(report.Status) <= DeliveryRecord.Rank(record.Status))
            {
                return true; // a duplicate, or older news than what we know
            }

            using var span = DeliveryTracing.StartReport(record, report.Status);
            var now = time.GetUtcNow();
            try
            {
                await store.ExecuteAsync([new StateUpsert(record.Key, Reported(record, report, now), item.ETag)],
                    [DeliveryProcessor.StatusEvent(record, report.Status, report.Error, report.OccurredAt)], cancellationToken);
                metrics.StatusChanged(channel, report.Status);
                return true;
            }
            catch (StateConcurrencyException) when (attempt < 5)
            {
                // the record changed under us (another report); read it again
            }
        }
    }

    /// <summary>
    /// A contact's reply becomes a message from the user who owns that address, in the conversation
    /// of the message it replies to. Without a reply reference there is no conversation to put it
    /// in; it is acknowledged and logged rather than guessed.
    /// </summary>
    private static async Task<bool> ForwardInboundAsync(string channel, ChannelCallback.InboundMessage inbound, IStateStore store, DeliveryDbContext db,
        IEventBus bus, ILogger logger, CancellationToken cancellationToken)
    {
        var sender = await db.ChannelAddresses.AsNoTracking().Where(a => a.Channel == channel && a.Address == inbound.FromAddress)
            .Select(a => (Guid?)a.UserId).SingleOrDefaultAsync(cancellationToken);
        if (inbound.InReplyTo is null || sender is null)
        {
            LogInboundDropped(logger, channel, inbound.ProviderMessageId, sender is null ? "unknown sender address" : "not a reply");
            return true;
        }

        var deliveryKey = await DeliveryKeyAsync(db, channel, inbound.InReplyTo, cancellationToken);
        var replied = deliveryKey is null ? null : await store.GetAsync<DeliveryRecord>(deliveryKey, cancellationToken);
        if (replied is null)
        {
            return false;
        }

        if (replied.Value.RecipientId != sender)
        {
            LogInboundDropped(logger, channel, inbound.ProviderMessageId, "replies to a message sent to someone else");
            return true;
        }

        var message = new MessageInbound(DeliveryRecord.StableGuid($"inbound|{channel}|{inbound.ProviderMessageId}"), replied.Value.ConversationId,
            sender.Value, channel, inbound.ProviderMessageId, new MessagePayload("text", inbound.Text, null), inbound.OccurredAt);
        await bus.PublishAsync(new IntegrationEvent(Guid.CreateVersion7(), Topics.MessageInbound, nameof(MessageInbound), message.ConversationId.ToString(),
            JsonSerializer.Serialize(message, ContractJson.Options), inbound.OccurredAt, EventBusTracing.CurrentTraceParent()), cancellationToken);
        return true;
    }

    private static bool CarriesNul(ChannelCallback callback) => callback switch
    {
        ChannelCallback.StatusReport r => NoNulAttribute.Contains(r.ProviderMessageId) || NoNulAttribute.Contains(r.Status) || NoNulAttribute.Contains(r.Error),
        ChannelCallback.InboundMessage m => NoNulAttribute.Contains(m.ProviderMessageId) || NoNulAttribute.Contains(m.FromAddress) ||
            NoNulAttribute.Contains(m.Text) || NoNulAttribute.Contains(m.InReplyTo),
        _ => false,
    };

    private static Task<string?> DeliveryKeyAsync(DeliveryDbContext db, string channel, string providerMessageId, CancellationToken cancellationToken) =>
        db.ProviderMessages.AsNoTracking().Where(p => p.Channel == channel && p.ProviderMessageId == providerMessageId)
            .Select(p => p.DeliveryKey).SingleOrDefaultAsync(cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a {Channel} webhook: {Reason}")]
    private static partial void LogRejected(ILogger logger, string channel, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped inbound {Channel} message {ProviderMessageId}: {Reason}")]
    private static partial void LogInboundDropped(ILogger logger, string channel, string providerMessageId, string reason);
}
