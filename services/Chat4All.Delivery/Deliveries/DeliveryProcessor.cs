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

    /// <summary>
    /// Attempts every due delivery of <paramref name="keys"/> as one batch: one script call claims them
    /// all, one query reads them under their claims, the provider calls run concurrently, and the
    /// outcomes are written together in one state transaction (see <see cref="RecordAsync"/>). A
    /// provider slower than <see cref="DeliveryOptions.BatchStragglerWait"/> after the others holds
    /// back only itself: what has finished by then is written, and the stragglers are written when
    /// they finish. Anything else that throws fails the whole call, and the dispatcher then attempts
    /// the keys one at a time, so a poisoned record fails alone.
    /// </summary>
    public async Task AttemptAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        // Only one instance attempts a delivery at a time; losing the race means someone else has it
        // (and if they die, their claim expires and the sweep brings the delivery back).
        var held = await claims.TryAcquireAsync(keys, dispatcher.InstanceId, _options.ClaimDuration);
        var now = time.GetUtcNow();
        var claimed = new List<string>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            if (held[i])
            {
                claimed.Add(keys[i]);
            }
            else
            {
                dispatcher.Schedule(keys[i], now + _options.ClaimDuration);
            }
        }

        try
        {
            // Read under the claims: a record may have moved on since it was scheduled.
            var due = new List<StateItem<DeliveryRecord>>(claimed.Count);
            foreach (var item in claimed.Count == 0 ? [] : await store.GetManyAsync<DeliveryRecord>(claimed, cancellationToken))
            {
                if (item.Value.Status != DeliveryRecord.Pending)
                {
                    continue; // done already
                }

                if (item.Value.NextAttemptAt > now)
                {
                    dispatcher.Schedule(item.Key, item.Value.NextAttemptAt);
                }
                else
                {
                    due.Add(item);
                }
            }

            if (due.Count == 0)
            {
                return;
            }

            var sends = due.ConvertAll(item => SendAsync(item, cancellationToken));
            var all = Task.WhenAll(sends);
            await Task.WhenAny(sends);
            using (var stragglers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                await Task.WhenAny(all, Task.Delay(_options.BatchStragglerWait, time, stragglers.Token));
                await stragglers.CancelAsync();
            }

            var finished = sends.FindAll(send => send.IsCompleted);
            await Task.WhenAll(finished); // a call that threw (we are stopping) ends the batch; its records stay pending
            await RecordAsync([.. finished.Select(send => send.Result)], claimed, cancellationToken);
            if (finished.Count < sends.Count)
            {
                await all;
                await RecordAsync([.. sends.Except(finished).Select(send => send.Result)], claimed, cancellationToken);
            }
        }
        finally
        {
            await claims.ReleaseAsync(claimed, dispatcher.InstanceId);
        }
    }

    /// <summary>
    /// Writes the outcomes of finished attempts and releases their claims (taking them out of
    /// <paramref name="claimed"/>). Sent and retry transitions go in one state transaction, after one
    /// statement that indexes every provider message id; if one record moved meanwhile (typically a
    /// fast provider's delivered report arrived first), that transaction writes nothing and each
    /// transition is written on its own instead, so the conflict costs only its own record. Failures
    /// are rare and need their fallback or dead letter, so each is written on its own.
    /// </summary>
    private async Task RecordAsync(IReadOnlyList<Attempted> outcomes, List<string> claimed, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var transitions = new List<Transition>(outcomes.Count);
        var sent = new List<(Attempted Attempt, string ProviderMessageId)>();
        foreach (var attempted in outcomes)
        {
            var attempt = attempted.Item.Value;
            switch (attempted.Outcome)
            {
                case SendResult.Accepted accepted:
                    sent.Add((attempted, accepted.ProviderMessageId));
                    transitions.Add(Sent(attempted.Item, accepted.ProviderMessageId, now));
                    break;
                // Default routing: a provider that does not answer in time is not retried while the
                // recipient has another channel to try; the next one on their list takes over.
                case SendResult.Transient { Reason: Timeout } when attempt.FallbackChain is { Count: > 0 }:
                    await FailAloneAsync(attempted.Item, Timeout, now, cancellationToken);
                    break;
                case SendResult.Transient transient when attempt.Attempts < _options.MaxAttempts:
                    transitions.Add(Retry(attempted.Item, transient, now));
                    break;
                case SendResult.Transient transient:
                    await FailAloneAsync(attempted.Item, $"{transient.Reason} (after {attempt.Attempts} attempts)", now, cancellationToken);
                    break;
                case SendResult.Permanent permanent:
                    await FailAloneAsync(attempted.Item, permanent.Reason, now, cancellationToken);
                    break;
                case null:
                    dispatcher.Schedule(attempted.Item.Key, now + _options.InitialRetryDelay);
                    break;
                default:
                    throw new UnreachableException();
            }
        }

        // The index first: a crash before the records are written repeats the sends (the provider
        // answers with the same ids) and this idempotent insert, rather than leaving a sent record
        // whose webhooks cannot be matched.
        if (sent.Count > 0)
        {
            await IndexProviderMessagesAsync(sent, now, cancellationToken);
        }

        try
        {
            await WriteAsync(transitions, cancellationToken);
        }
        catch (StateConcurrencyException) when (transitions.Count > 1)
        {
            foreach (var transition in transitions)
            {
                try
                {
                    await WriteAsync([transition], cancellationToken);
                }
                catch (StateConcurrencyException)
                {
                    // Look again: a record that is no longer pending is left as it is.
                    dispatcher.Schedule(transition.Upsert.Key, now);
                }
            }
        }
        catch (StateConcurrencyException)
        {
            dispatcher.Schedule(transitions[0].Upsert.Key, now);
        }

        var settled = outcomes.Select(o => o.Item.Key).ToList();
        await claims.ReleaseAsync(settled, dispatcher.InstanceId);
        claimed.RemoveAll(settled.Contains);
    }

    /// <summary>Writes the transitions in one transaction, then does what each one announces once written.</summary>
    private async Task WriteAsync(IReadOnlyList<Transition> transitions, CancellationToken cancellationToken)
    {
        if (transitions.Count == 0)
        {
            return;
        }

        await store.ExecuteAsync([.. transitions.Select(t => t.Upsert)], [.. transitions.Select(t => t.Event)], cancellationToken);
        foreach (var transition in transitions)
        {
            transition.Written();
        }
    }

    private async Task IndexProviderMessagesAsync(List<(Attempted Attempt, string ProviderMessageId)> sent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var channels = sent.ConvertAll(s => s.Attempt.Item.Value.Channel).ToArray();
        var providerIds = sent.ConvertAll(s => s.ProviderMessageId).ToArray();
        var keys = sent.ConvertAll(s => s.Attempt.Item.Key).ToArray();
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO delivery.provider_messages (channel, provider_message_id, delivery_key, created_at)
            SELECT channel, provider_message_id, delivery_key, {now} FROM unnest({channels}, {providerIds}, {keys}) AS s(channel, provider_message_id, delivery_key)
            ON CONFLICT DO NOTHING
            """, cancellationToken);
    }

    private async Task FailAloneAsync(StateItem<DeliveryRecord> item, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            await FailAsync(item, reason, now, cancellationToken);
        }
        catch (StateConcurrencyException)
        {
            dispatcher.Schedule(item.Key, now); // the record moved; look again
        }
    }

    /// <summary>The retry delay after <paramref name="attempts"/> attempts: 1 s, 2 s, 4 s... ±20 %, at least retry-after, at most the cap.</summary>
    public TimeSpan RetryDelay(int attempts, TimeSpan? retryAfter) => _options.RetryDelay(attempts, retryAfter);

    /// <summary>One provider call for <paramref name="item"/>, counted as its next attempt.</summary>
    private async Task<Attempted> SendAsync(StateItem<DeliveryRecord> item, CancellationToken cancellationToken)
    {
        await Task.Yield(); // the calls of a batch start together, not one after another
        var attempt = item.Value with { Attempts = item.Value.Attempts + 1 };
        using var span = DeliveryTracing.StartAttempt(attempt);
        SendResult? outcome;
        try
        {
            outcome = await CallProviderAsync(attempt, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A record this code cannot attempt (a poisoned value, a connector bug) is its own
            // problem: it is tried again later, alone, and the rest of its batch is recorded.
            LogNotAttempted(logger, ex, item.Key);
            outcome = null;
        }

        span?.SetTag("chat4all.delivery.outcome", outcome?.GetType().Name.ToLowerInvariant() ?? "error");
        return new Attempted(new StateItem<DeliveryRecord>(item.Key, attempt, item.ETag), outcome);
    }

    private async Task<SendResult> CallProviderAsync(DeliveryRecord record, CancellationToken cancellationToken)
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

    private Transition Sent(StateItem<DeliveryRecord> item, string providerMessageId, DateTimeOffset now)
    {
        var record = item.Value;
        var sent = record with
        {
            Status = DeliveryStatuses.Sent,
            PublishedStatus = DeliveryStatuses.Sent,
            ProviderMessageId = providerMessageId,
            LastError = null,
            SentAt = now,
            UpdatedAt = now,
        };
        return new Transition(new StateUpsert(record.Key, sent, item.ETag), StatusEvent(record, DeliveryStatuses.Sent, null, now),
            () => metrics.StatusChanged(record.Channel, DeliveryStatuses.Sent));
    }

    private Transition Retry(StateItem<DeliveryRecord> item, SendResult.Transient transient, DateTimeOffset now)
    {
        var record = item.Value;
        var due = now + RetryDelay(record.Attempts, transient.RetryAfter);
        var error = string.Create(CultureInfo.InvariantCulture,
            $"{transient.Reason} (attempt {record.Attempts} of {_options.MaxAttempts}; retrying at {due:O})");
        var retry = record with { NextAttemptAt = due, LastError = error, UpdatedAt = now };
        // Still accepted, but the sender can see why it is taking a while.
        return new Transition(new StateUpsert(record.Key, retry, item.ETag), StatusEvent(record, DeliveryStatuses.Accepted, error, now), () =>
        {
            LogRetrying(logger, record.DeliveryId, record.Channel, record.Attempts, transient.Reason, due);
            dispatcher.Schedule(record.Key, due);
        });
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Delivery {Key} could not be attempted; its batch goes on without it, and it is tried again later")]
    private static partial void LogNotAttempted(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} on {Channel} failed attempt {Attempt} ({Reason}); retrying at {DueAt:o}")]
    private static partial void LogRetrying(ILogger logger, Guid deliveryId, string channel, int attempt, string reason, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} on {Channel} failed after {Attempts} attempts: {Reason}; fallback: {FallbackChannel}")]
    private static partial void LogFailed(ILogger logger, Guid deliveryId, string channel, int attempts, string reason, string? fallbackChannel);

    /// <summary>An attempt made: the record with its attempt counted (and the ETag it was read with), and what the provider said.</summary>
    private sealed record Attempted(StateItem<DeliveryRecord> Item, SendResult? Outcome);

    /// <summary>A record's next state with its status event, and what to do once both are written.</summary>
    private sealed record Transition(StateUpsert Upsert, StateEvent Event, Action Written);
}
