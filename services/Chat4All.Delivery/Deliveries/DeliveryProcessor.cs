using System.Diagnostics;
using System.Globalization;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Data;
using Chat4All.ServiceDefaults.Audit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.Deliveries;

/// <summary>
/// One attempt at one delivery: claim it (so no other instance works on it at the same time), call
/// the channel's connector through its breaker, and record the outcome with its status event in
/// one state-store transaction. Transient failures are rescheduled with exponential backoff and
/// jitter (never sooner than a provider's retry-after); the last failure — or a permanent one —
/// fails the delivery, creates the message's fallback delivery if it has one, and otherwise
/// dead-letters it with the reason. A crash anywhere leaves the record pending (or claimed until
/// the claim expires), so the sweep attempts it again; the delivery id is the provider's
/// idempotency key, which makes the repeat harmless.
/// </summary>
public sealed partial class DeliveryProcessor(
    IStateStore store,
    DeliveryClaims claims,
    DeliveryDbContext db,
    ChannelConnectors connectors,
    DeliveryMetrics metrics,
    DeliveryDispatcher dispatcher,
    IEventBus bus,
    IOptions<DeliveryOptions> options,
    TimeProvider time,
    AuditLog audit,
    ILogger<DeliveryProcessor> logger)
{
    private const string Timeout = "timeout";

    private readonly DeliveryOptions _options = options.Value;

    public async Task AttemptAsync(string key, CancellationToken cancellationToken)
    {
        var item = await store.GetAsync<DeliveryRecord>(key, cancellationToken);
        if (item is null || item.Value.Status != DeliveryRecord.Pending)
        {
            return; // done already
        }

        var now = time.GetUtcNow();
        if (item.Value.NextAttemptAt > now)
        {
            dispatcher.Schedule(key, item.Value.NextAttemptAt);
            return;
        }

        // Only one instance attempts a delivery at a time; losing the race means someone else has it
        // (and if they die, their claim expires and the sweep brings the delivery back).
        if (!await claims.TryAcquireAsync(key, dispatcher.InstanceId, _options.ClaimDuration))
        {
            dispatcher.Schedule(key, now + _options.ClaimDuration);
            return;
        }

        try
        {
            // Read again under the claim: the record may have moved on since the first read.
            item = await store.GetAsync<DeliveryRecord>(key, cancellationToken);
            if (item is null || item.Value.Status != DeliveryRecord.Pending)
            {
                return;
            }

            var attempt = item.Value with { Attempts = item.Value.Attempts + 1 };
            using var span = DeliveryTracing.StartAttempt(attempt);
            var outcome = await SendAsync(attempt, cancellationToken);
            span?.SetTag("chat4all.delivery.outcome", outcome.GetType().Name.ToLowerInvariant());
            var attempted = new StateItem<DeliveryRecord>(key, attempt, item.ETag);
            now = time.GetUtcNow();
            try
            {
                await (outcome switch
                {
                    SendResult.Accepted accepted => MarkSentAsync(attempted, accepted.ProviderMessageId, now, cancellationToken),
                    // Default routing: a provider that does not answer in time is not retried while the
                    // recipient has another channel to try; the next one on their list takes over.
                    SendResult.Transient { Reason: Timeout } when attempt.FallbackChain is { Count: > 0 } => FailAsync(attempted, Timeout, now, cancellationToken),
                    SendResult.Transient transient when attempt.Attempts < _options.MaxAttempts => ScheduleRetryAsync(attempted, transient, now, cancellationToken),
                    SendResult.Transient transient => FailAsync(attempted, $"{transient.Reason} (after {attempt.Attempts} attempts)", now, cancellationToken),
                    SendResult.Permanent permanent => FailAsync(attempted, permanent.Reason, now, cancellationToken),
                    _ => throw new UnreachableException(),
                });
            }
            catch (StateConcurrencyException)
            {
                // The record moved while we were at the provider — typically a fast provider's delivered
                // report arrived first. Look again: a record that is no longer pending is left as it is.
                dispatcher.Schedule(key, now);
            }
        }
        finally
        {
            await claims.ReleaseAsync(key, dispatcher.InstanceId);
        }
    }

    /// <summary>The retry delay after <paramref name="attempts"/> attempts: 1 s, 2 s, 4 s... ±20 %, at least retry-after, at most the cap.</summary>
    public TimeSpan RetryDelay(int attempts, TimeSpan? retryAfter) => _options.RetryDelay(attempts, retryAfter);

    private async Task<SendResult> SendAsync(DeliveryRecord record, CancellationToken cancellationToken)
    {
        if (record.Address is null || !connectors.TryGet(record.Channel, out var connector))
        {
            return new SendResult.Permanent(record.Address is null ? "no_channel_address" : "channel_not_configured");
        }

        var breaker = metrics.Breaker(record.Channel);
        if (!breaker.TryAcquire(out var openFor))
        {
            metrics.Attempted(record.Channel, "circuit_open", TimeSpan.Zero);
            return new SendResult.Transient($"circuit_open: {record.Channel} is failing", openFor);
        }

        var started = time.GetTimestamp();
        SendResult result;
        using (var call = DeliveryTracing.StartProviderCall(record))
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(_options.AttemptTimeout);
            try
            {
                result = await connector.SendAsync(
                    new OutboundMessage(record.DeliveryId, record.Attempts, record.Channel, record.Address, record.MessageId, record.ConversationId,
                        record.SenderId, record.Payload),
                    timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                result = new SendResult.Transient(Timeout);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException)
            {
                result = new SendResult.Transient($"{ex.GetType().Name}: {ex.Message}");
            }

            call?.SetStatus(result is SendResult.Accepted ? ActivityStatusCode.Ok : ActivityStatusCode.Error);
        }

        var outcome = result switch
        {
            SendResult.Accepted => "accepted",
            SendResult.Transient => "transient",
            _ => "permanent",
        };
        metrics.Attempted(record.Channel, outcome, time.GetElapsedTime(started));
        switch (result)
        {
            case SendResult.Accepted:
                breaker.RecordSuccess();
                break;
            case SendResult.Transient { Reason: "rate_limited" }:
                breaker.RecordNeutral(); // the channel works; we are just too fast for it
                break;
            case SendResult.Transient:
                breaker.RecordFailure();
                break;
            default:
                breaker.RecordNeutral();
                break;
        }

        return result;
    }

    private async Task MarkSentAsync(StateItem<DeliveryRecord> item, string providerMessageId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var record = item.Value;
        // The index first: a crash before the record is written repeats the send (the provider
        // answers with the same id) and this idempotent insert, rather than leaving a sent record
        // whose webhooks cannot be matched.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO delivery.provider_messages (channel, provider_message_id, delivery_key, created_at)
            VALUES ({record.Channel}, {providerMessageId}, {record.Key}, {now})
            ON CONFLICT DO NOTHING
            """, cancellationToken);
        var sent = record with
        {
            Status = DeliveryStatuses.Sent,
            PublishedStatus = DeliveryStatuses.Sent,
            ProviderMessageId = providerMessageId,
            LastError = null,
            SentAt = now,
            UpdatedAt = now,
        };
        await store.ExecuteAsync([new StateUpsert(record.Key, sent, item.ETag)], [StatusEvent(record, DeliveryStatuses.Sent, null, now)],
            cancellationToken);
        metrics.StatusChanged(record.Channel, DeliveryStatuses.Sent);
    }

    private async Task ScheduleRetryAsync(StateItem<DeliveryRecord> item, SendResult.Transient transient, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var record = item.Value;
        var due = now + RetryDelay(record.Attempts, transient.RetryAfter);
        var error = string.Create(CultureInfo.InvariantCulture,
            $"{transient.Reason} (attempt {record.Attempts} of {_options.MaxAttempts}; retrying at {due:O})");
        var retry = record with { NextAttemptAt = due, LastError = error, UpdatedAt = now };
        // Still accepted, but the sender can see why it is taking a while.
        await store.ExecuteAsync([new StateUpsert(record.Key, retry, item.ETag)], [StatusEvent(record, DeliveryStatuses.Accepted, error, now)],
            cancellationToken);
        LogRetrying(logger, record.DeliveryId, record.Channel, record.Attempts, transient.Reason, due);
        dispatcher.Schedule(record.Key, due);
    }

    private async Task FailAsync(StateItem<DeliveryRecord> item, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var record = item.Value;
        var failed = record with
        {
            Status = DeliveryStatuses.Failed,
            PublishedStatus = DeliveryStatuses.Failed,
            LastError = reason,
            UpdatedAt = now,
        };
        var operations = new List<StateOperation> { new StateUpsert(record.Key, failed, item.ETag) };
        var events = new List<StateEvent> { StatusEvent(record, DeliveryStatuses.Failed, reason, now) };
        var fallback = await FallbackAsync(record, now, cancellationToken);
        if (fallback is not null)
        {
            operations.Add(new StateUpsert(fallback.Key, fallback, OnlyIfAbsent: true));
            events.Add(CreatedEvent(fallback, now));
        }
        else
        {
            // Dead letter first: if we crash before the record is failed, the record is retried and
            // dead-lettered again (an idempotent upsert), never failed without a dead letter.
            await DeadLetterAsync(record, reason, now, cancellationToken);
        }

        await store.ExecuteAsync(operations, events, cancellationToken);
        metrics.StatusChanged(record.Channel, DeliveryStatuses.Failed);
        LogFailed(logger, record.DeliveryId, record.Channel, record.Attempts, reason, fallback?.Channel);
        if (fallback is not null)
        {
            metrics.FellBack(record.Channel, fallback.Channel);
            dispatcher.Schedule(fallback.Key, now);
        }
    }

    /// <summary>
    /// The fallback delivery to create: the next channel of a default-routed delivery's chain that
    /// the recipient can still be reached on, or the message's own fallback channel.
    /// </summary>
    private async Task<DeliveryRecord?> FallbackAsync(DeliveryRecord record, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (record.FallbackChain is { Count: > 0 } chain)
        {
            var addresses = await db.ChannelAddresses.AsNoTracking().Where(a => a.UserId == record.RecipientId && chain.Contains(a.Channel))
                .ToDictionaryAsync(a => a.Channel, a => a.Address, StringComparer.Ordinal, cancellationToken);
            for (var i = 0; i < chain.Count; i++)
            {
                // Addresses may have been removed since the message was routed: skip those channels.
                if (addresses.TryGetValue(chain[i], out var next) && connectors.TryGet(chain[i], out _) &&
                    await store.GetAsync<DeliveryRecord>(DeliveryRecord.KeyOf(record.MessageId, record.RecipientId, chain[i]), cancellationToken) is null)
                {
                    return DeliveryRouter.NewRecord(record.MessageId, record.ConversationId, record.SenderId, record.RecipientId, chain[i], next, record.Payload,
                        fallbackChannel: null, now) with { FallbackFrom = record.Channel, FallbackChain = [.. chain.Skip(i + 1)] };
                }
            }

            return null;
        }

        if (record.FallbackChannel is not { } channel || channel == record.Channel || record.FallbackFrom is not null)
        {
            return null;
        }

        var address = await db.ChannelAddresses.AsNoTracking()
            .Where(a => a.UserId == record.RecipientId && a.Channel == channel).Select(a => a.Address).SingleOrDefaultAsync(cancellationToken);
        if (address is null || await store.GetAsync<DeliveryRecord>(DeliveryRecord.KeyOf(record.MessageId, record.RecipientId, channel), cancellationToken) is not null)
        {
            return null; // unreachable there, or the message already goes to that channel
        }

        return DeliveryRouter.NewRecord(record.MessageId, record.ConversationId, record.SenderId, record.RecipientId, channel, address, record.Payload,
            fallbackChannel: null, now) with { FallbackFrom = record.Channel };
    }

    private async Task DeadLetterAsync(DeliveryRecord record, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO delivery.dead_letters (delivery_id, key, message_id, conversation_id, recipient_id, channel, attempts, reason, dead_lettered_at)
            VALUES ({record.DeliveryId}, {record.Key}, {record.MessageId}, {record.ConversationId}, {record.RecipientId}, {record.Channel},
                    {record.Attempts}, {reason}, {now})
            ON CONFLICT (delivery_id) DO UPDATE
              SET attempts = EXCLUDED.attempts, reason = EXCLUDED.reason, dead_lettered_at = EXCLUDED.dead_lettered_at,
                  replayed_at = NULL, replayed_by = NULL
            """, cancellationToken);
        var deadLettered = new DeliveryDeadLettered(record.DeliveryId, record.MessageId, record.ConversationId, record.RecipientId, record.Channel,
            record.Attempts, reason, now);
        await bus.PublishAsync(new IntegrationEvent(Guid.CreateVersion7(now), Topics.DeliveryDeadLetter, nameof(DeliveryDeadLettered),
            record.ConversationId.ToString(), System.Text.Json.JsonSerializer.Serialize(deadLettered, ContractJson.Options), now,
            EventBusTracing.CurrentTraceParent()), cancellationToken);
        metrics.DeadLettered(record.Channel);
        audit.DeliveryDeadLettered(record.DeliveryId, record.MessageId, record.RecipientId, record.Channel, record.Attempts, reason);
    }

    /// <summary>A new delivery's first event: accepted, old status accepted (there was none before).</summary>
    internal static StateEvent CreatedEvent(DeliveryRecord record, DateTimeOffset now) => StatusEvent(record, DeliveryStatuses.Accepted, null, now);

    internal static StateEvent StatusEvent(DeliveryRecord record, string newStatus, string? error, DateTimeOffset now) =>
        StateEvent.Create(record.Key, Topics.MessageStatusChanged, record.ConversationId.ToString(),
            new MessageStatusChanged(record.MessageId, record.ConversationId, record.RecipientId, record.Channel, record.PublishedStatus, newStatus, now,
                error, record.FallbackFrom),
            now);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} on {Channel} failed attempt {Attempt} ({Reason}); retrying at {DueAt:o}")]
    private static partial void LogRetrying(ILogger logger, Guid deliveryId, string channel, int attempt, string reason, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} on {Channel} failed after {Attempts} attempts: {Reason}; fallback: {FallbackChannel}")]
    private static partial void LogFailed(ILogger logger, Guid deliveryId, string channel, int attempts, string reason, string? fallbackChannel);
}
