using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Data;
using Chat4All.Delivery.Deliveries;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.ChannelChanges;

/// <summary>
/// Carries out due <see cref="ChannelChange"/>s, best effort, per delivery in seq order:
/// <list type="bullet">
/// <item>A delivery not sent yet is changed in place under its delivery claim (so no attempt is in
/// flight): an edit replaces the text the send will carry, a delete cancels it (failed,
/// <c>message_deleted</c>). While an attempt holds the claim, the change waits for it to finish.</item>
/// <item>A sent delivery is edited or recalled at its provider if the connector supports that kind of
/// change; the provider's window refusals and other permanent answers are recorded as the outcome,
/// transient failures are retried with the delivery backoff up to <see cref="DeliveryOptions.MaxAttempts"/>.</item>
/// <item>A delivery that never reached its provider has nothing to change (<see cref="ChannelChange.NotSent"/>).</item>
/// </list>
/// The outcome is announced on <c>message.status_changed</c> (<c>channel_change</c>) before the row
/// is finished, so a crash repeats the announcement rather than losing it; the change id given to
/// the provider is derived from (delivery, change seq), so a repeated call changes nothing there.
/// </summary>
public sealed partial class ChannelChangeProcessor(
    IStateStore store,
    DeliveryClaims claims,
    DeliveryDbContext db,
    ChannelConnectors connectors,
    DeliveryDispatcher dispatcher,
    IEventBus bus,
    IOptions<DeliveryOptions> options,
    TimeProvider time,
    ILogger<ChannelChangeProcessor> logger)
{
    private const int BatchSize = 32;
    private const string MessageDeleted = "message_deleted";

    // How soon to look again at a change whose unsent delivery is being attempted right now.
    private static readonly TimeSpan AttemptInFlightWait = TimeSpan.FromMilliseconds(200);

    private readonly DeliveryOptions _options = options.Value;

    /// <summary>Carries out one batch of due changes; returns how long to wait before the next round.</summary>
    public async Task<TimeSpan> RunDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var token = Guid.NewGuid();
        // Only the earliest pending change of each delivery is due: a delivery's changes go in seq order.
        var claimed = await db.Set<ChannelChange>().FromSql($"""
            UPDATE delivery.channel_changes SET claim_token = {token}, claimed_until = {now + _options.ClaimDuration}
            WHERE (delivery_key, change_seq) IN (
              SELECT c.delivery_key, c.change_seq FROM delivery.channel_changes c
              WHERE c.status = {ChannelChange.Pending} AND c.next_attempt_at <= {now} AND (c.claimed_until IS NULL OR c.claimed_until < {now})
                AND NOT EXISTS (SELECT 1 FROM delivery.channel_changes e
                                WHERE e.delivery_key = c.delivery_key AND e.status = {ChannelChange.Pending} AND e.change_seq < c.change_seq)
              ORDER BY c.next_attempt_at
              LIMIT {BatchSize}
              FOR UPDATE OF c SKIP LOCKED)
            RETURNING *
            """).AsNoTracking().ToListAsync(cancellationToken);
        foreach (var change in claimed)
        {
            var step = await CarryOutAsync(change, cancellationToken);
            await SaveAsync(change, token, step, cancellationToken);
        }

        if (claimed.Count == BatchSize)
        {
            return TimeSpan.Zero;
        }

        now = time.GetUtcNow();
        var next = await db.Database.SqlQuery<DateTimeOffset?>($"""
            SELECT min(greatest(c.next_attempt_at, coalesce(c.claimed_until, c.next_attempt_at))) AS "Value"
            FROM delivery.channel_changes c
            WHERE c.status = {ChannelChange.Pending}
              AND NOT EXISTS (SELECT 1 FROM delivery.channel_changes e
                              WHERE e.delivery_key = c.delivery_key AND e.status = {ChannelChange.Pending} AND e.change_seq < c.change_seq)
            """).SingleAsync(cancellationToken);
        var wait = next is { } due ? due - now : _options.SweepInterval;
        return wait < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : wait > _options.SweepInterval ? _options.SweepInterval : wait;
    }

    private async Task<Step> CarryOutAsync(ChannelChange change, CancellationToken cancellationToken)
    {
        var edit = change.Kind == ChannelChange.Edit;
        var item = await store.GetAsync<DeliveryRecord>(change.DeliveryKey, cancellationToken);
        if (item is { Value.Status: DeliveryRecord.Pending })
        {
            var owner = dispatcher.InstanceId + "/changes";
            if (!(await claims.TryAcquireAsync([change.DeliveryKey], owner, _options.ClaimDuration))[0])
            {
                return new Step.Wait(time.GetUtcNow() + AttemptInFlightWait);
            }

            try
            {
                // Read again under the claim: an attempt may have finished in between.
                item = await store.GetAsync<DeliveryRecord>(change.DeliveryKey, cancellationToken);
                if (item is { Value.Status: DeliveryRecord.Pending })
                {
                    return await ChangeUnsentAsync(item, change, edit, cancellationToken);
                }
            }
            finally
            {
                await claims.ReleaseAsync([change.DeliveryKey], owner);
            }
        }

        if (item?.Value is not { ProviderMessageId: { } providerMessageId, Address: { } address } record)
        {
            return new Step.Done(ChannelChange.NotSent, change.Attempts, item?.Value.LastError, Announce: null);
        }

        var kind = edit ? ChannelChangeKinds.Edit : ChannelChangeKinds.Recall;
        if (!connectors.TryGet(record.Channel, out var connector) || (connector.SupportedChanges & kind) == 0)
        {
            return Finished(change, record, change.Attempts, edit ? ChannelChangeOutcomes.EditUnsupported : ChannelChangeOutcomes.RecallUnsupported, null);
        }

        var attempt = change.Attempts + 1;
        var result = await CallProviderAsync(connector,
            new OutboundChange(DeliveryRecord.StableGuid($"{change.DeliveryKey}|change|{change.ChangeSeq}"), attempt, record.Channel, address,
                providerMessageId, kind, change.Text),
            cancellationToken);
        var now = time.GetUtcNow();
        return result switch
        {
            SendResult.Accepted => Finished(change, record, attempt, edit ? ChannelChangeOutcomes.Edited : ChannelChangeOutcomes.Recalled, null),
            SendResult.Permanent { Reason: ChannelChangeOutcomes.EditWindowExpired or ChannelChangeOutcomes.RecallWindowExpired } expired =>
                Finished(change, record, attempt, expired.Reason, null),
            SendResult.Permanent permanent =>
                Finished(change, record, attempt, edit ? ChannelChangeOutcomes.EditFailed : ChannelChangeOutcomes.RecallFailed, permanent.Reason),
            SendResult.Transient transient when attempt < _options.MaxAttempts =>
                new Step.Retry(attempt, now + _options.RetryDelay(attempt, transient.RetryAfter), transient.Reason),
            SendResult.Transient transient => Finished(change, record, attempt, edit ? ChannelChangeOutcomes.EditFailed : ChannelChangeOutcomes.RecallFailed,
                string.Create(CultureInfo.InvariantCulture, $"{transient.Reason} (after {attempt} attempts)")),
            _ => throw new UnreachableException(),
        };
    }

    /// <summary>
    /// The delivery has not been sent (and cannot be while we hold its claim): an edit becomes the text
    /// its send carries, a delete cancels it — with the outcome's status event in the same transaction.
    /// </summary>
    private async Task<Step> ChangeUnsentAsync(StateItem<DeliveryRecord> item, ChannelChange change, bool edit, CancellationToken cancellationToken)
    {
        var record = item.Value;
        var now = time.GetUtcNow();
        var changed = edit
            ? record with { Payload = record.Payload with { Text = change.Text }, UpdatedAt = now }
            : record with { Status = DeliveryStatuses.Failed, PublishedStatus = DeliveryStatuses.Failed, LastError = MessageDeleted, UpdatedAt = now };
        var outcome = edit ? ChannelChangeOutcomes.EditedBeforeSend : ChannelChangeOutcomes.Cancelled;
        var announcement = StatusChanged(record, changed, outcome, change.ChangeSeq, now);
        try
        {
            await store.ExecuteAsync([new StateUpsert(record.Key, changed, item.ETag)],
                [StateEvent.Create(record.Key, Topics.MessageStatusChanged, record.ConversationId.ToString(), announcement, now)], cancellationToken);
        }
        catch (StateConcurrencyException)
        {
            return new Step.Wait(now); // a webhook moved the record meanwhile: look again
        }

        return new Step.Done(outcome, change.Attempts, changed.LastError, Announce: null);
    }

    private async Task<SendResult> CallProviderAsync(IChannelConnector connector, OutboundChange change, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.AttemptTimeout);
        try
        {
            return await connector.ChangeAsync(change, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new SendResult.Transient("timeout");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException)
        {
            return new SendResult.Transient($"{ex.GetType().Name}: {ex.Message}");
        }
    }

    private Step.Done Finished(ChannelChange change, DeliveryRecord record, int attempts, string outcome, string? error) =>
        new(outcome, attempts, error, StatusChanged(record, record, outcome, change.ChangeSeq, time.GetUtcNow()));

    private async Task SaveAsync(ChannelChange change, Guid token, Step step, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (status, attempts, due, reason) = step switch
        {
            Step.Done done => (done.Outcome, done.Attempts, change.NextAttemptAt, done.Error),
            Step.Retry retry => (ChannelChange.Pending, retry.Attempts, retry.At, retry.Error),
            Step.Wait wait => (ChannelChange.Pending, change.Attempts, wait.At, change.LastError),
            _ => throw new UnreachableException(),
        };
        var error = reason is { Length: > 1000 } ? reason[..1000] : reason;
        if (step is Step.Done { Announce: { } announcement })
        {
            // Announce first: a crash before the row is finished repeats the change (a no-op at the
            // provider) and the announcement, which readers apply idempotently by change seq.
            await bus.PublishAsync(new IntegrationEvent(Guid.CreateVersion7(now), Topics.MessageStatusChanged, nameof(MessageStatusChanged),
                announcement.ConversationId.ToString(), JsonSerializer.Serialize(announcement, ContractJson.Options),
                now, EventBusTracing.CurrentTraceParent()), cancellationToken);
        }

        await db.Database.ExecuteSqlAsync($"""
            UPDATE delivery.channel_changes
            SET status = {status}, attempts = {attempts}, next_attempt_at = {due}, last_error = {error}, claim_token = NULL, claimed_until = NULL,
                updated_at = {now}
            WHERE delivery_key = {change.DeliveryKey} AND change_seq = {change.ChangeSeq} AND claim_token = {token}
            """, cancellationToken);
        if (step is Step.Done finished)
        {
            LogChangeDone(logger, change.Kind, change.ChangeSeq, change.Channel, change.DeliveryKey, finished.Outcome, finished.Error);
        }
        else if (step is Step.Retry retrying)
        {
            LogChangeRetrying(logger, change.Kind, change.ChangeSeq, change.Channel, retrying.Attempts, retrying.Error, retrying.At);
        }
    }

    private static MessageStatusChanged StatusChanged(DeliveryRecord before, DeliveryRecord after, string outcome, long changeSeq, DateTimeOffset now) =>
        new(before.MessageId, before.ConversationId, before.RecipientId, before.Channel, before.PublishedStatus, after.PublishedStatus, now,
            after.Status == DeliveryStatuses.Failed ? after.LastError : null, before.FallbackFrom, outcome, changeSeq);

    [LoggerMessage(Level = LogLevel.Information, Message = "Channel {Kind} (change seq {ChangeSeq}) on {Channel} for {DeliveryKey}: {Outcome} {Error}")]
    private static partial void LogChangeDone(ILogger logger, string kind, long changeSeq, string channel, string deliveryKey, string outcome, string? error);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Channel {Kind} (change seq {ChangeSeq}) on {Channel} failed attempt {Attempt} ({Reason}); retrying at {DueAt:o}")]
    private static partial void LogChangeRetrying(ILogger logger, string kind, long changeSeq, string channel, int attempt, string reason, DateTimeOffset dueAt);

    /// <summary>What became of one round's change: finished with an outcome, retried after a failure, or left to look at again.</summary>
    private abstract record Step
    {
        private Step()
        {
        }

        /// <summary>Finished. <paramref name="Announce"/>: the status event still to publish (null if none, or already in the state transaction).</summary>
        public sealed record Done(string Outcome, int Attempts, string? Error, MessageStatusChanged? Announce) : Step;

        public sealed record Retry(int Attempts, DateTimeOffset At, string Error) : Step;

        public sealed record Wait(DateTimeOffset At) : Step;
    }
}
