using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Delivery.ChannelChanges;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Delivery.Deliveries;

/// <summary>
/// Consumes <c>message.created</c>: deliveries per recipient — recipients are the members other
/// than the sender. <c>["default"]</c> (channels omitted) means one delivery on the recipient's
/// preferred channel, the first of their addresses in their order, carrying the rest of that list
/// as its fallback chain; <c>["all"]</c> means every channel the recipient has an address on (with
/// either, a recipient with none is reached only in the app); a named channel the recipient has no
/// address on becomes a delivery that fails with <c>no_channel_address</c>, so the sender sees why.
/// Records are created only if absent, so a redelivered or republished event makes no duplicates,
/// then handed to the dispatcher; the event is acknowledged once the records are stored. Edits and
/// deletes on the same topic go to the <see cref="ChannelChangeRecorder"/>.
/// </summary>
public sealed class DeliveryRouter(IStateStore store, DeliveryDbContext db, ChannelConnectors connectors, DeliveryDispatcher dispatcher,
    ChannelChangeRecorder channelChanges, TimeProvider time)
    : IIntegrationEventConsumer<MessageCreated>, IIntegrationEventConsumer<MessageUpdated>, IIntegrationEventConsumer<MessageDeleted>
{
    Task IIntegrationEventConsumer.HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken) =>
        integrationEvent.RouteAsync(this, cancellationToken);

    // Edits and deletes share the topic, after the message they change (docs/adr/0065).
    public Task HandleAsync(IntegrationEvent envelope, MessageUpdated updated, CancellationToken cancellationToken) =>
        channelChanges.EditedAsync(updated, cancellationToken);

    public Task HandleAsync(IntegrationEvent envelope, MessageDeleted deleted, CancellationToken cancellationToken) =>
        channelChanges.DeletedAsync(deleted, cancellationToken);

    public async Task HandleAsync(IntegrationEvent envelope, MessageCreated created, CancellationToken cancellationToken)
    {
        var recipients = created.Recipients.Where(r => r != created.SenderId).Distinct().ToList();
        if (recipients.Count == 0)
        {
            return;
        }

        var addresses = await db.ChannelAddresses.AsNoTracking().Where(a => recipients.Contains(a.UserId))
            .OrderBy(a => a.Position).ThenBy(a => a.Channel).ToListAsync(cancellationToken);
        var everyChannel = created.Channels.Contains(Channels.AllKeyword);
        var preferred = created.Channels.Contains(Channels.DefaultKeyword);
        var now = time.GetUtcNow();
        var wanted = new List<DeliveryRecord>();
        foreach (var recipient in recipients)
        {
            // In the recipient's order of preference, only channels this deployment can send on.
            var reachable = addresses.Where(a => a.UserId == recipient && connectors.TryGet(a.Channel, out _)).ToList();
            if (preferred)
            {
                if (reachable.Count > 0)
                {
                    wanted.Add(NewRecord(created.MessageId, created.ConversationId, created.SenderId, recipient, reachable[0].Channel, reachable[0].Address,
                        created.Payload, created.FallbackChannel, now) with { FallbackChain = [.. reachable.Skip(1).Select(a => a.Channel)] });
                }

                continue;
            }

            var channels = everyChannel ? reachable.Select(a => a.Channel).Order(StringComparer.Ordinal) : created.Channels.AsEnumerable();
            foreach (var channel in channels)
            {
                wanted.Add(NewRecord(created.MessageId, created.ConversationId, created.SenderId, recipient, channel,
                    addresses.FirstOrDefault(a => a.UserId == recipient && a.Channel == channel)?.Address, created.Payload, created.FallbackChannel, now));
            }
        }

        if (wanted.Count == 0)
        {
            return;
        }

        var existing = (await store.GetManyAsync<DeliveryRecord>([.. wanted.Select(w => w.Key)], cancellationToken))
            .Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
        var missing = wanted.Where(w => !existing.Contains(w.Key)).ToList();
        if (missing.Count > 0)
        {
            try
            {
                await store.ExecuteAsync([.. missing.Select(m => new StateUpsert(m.Key, m, OnlyIfAbsent: true))],
                    [.. missing.Select(m => DeliveryProcessor.CreatedEvent(m, now))], cancellationToken);
            }
            catch (StateConcurrencyException)
            {
                // Another consumer (a redelivery racing this one) created some: create the rest one by one.
                foreach (var record in missing)
                {
                    try
                    {
                        await store.ExecuteAsync([new StateUpsert(record.Key, record, OnlyIfAbsent: true)], [DeliveryProcessor.CreatedEvent(record, now)],
                            cancellationToken);
                    }
                    catch (StateConcurrencyException)
                    {
                        // exists: fine
                    }
                }
            }
        }

        // Existing ones too: after a crash they may be pending with nobody working on them.
        foreach (var record in wanted)
        {
            dispatcher.Schedule(record.Key, now);
        }
    }

    internal static DeliveryRecord NewRecord(Guid messageId, Guid conversationId, Guid senderId, Guid recipientId, string channel, string? address,
        MessagePayload payload, string? fallbackChannel, DateTimeOffset now) =>
        new()
        {
            DeliveryId = DeliveryRecord.IdOf(messageId, recipientId, channel),
            MessageId = messageId,
            ConversationId = conversationId,
            SenderId = senderId,
            RecipientId = recipientId,
            Channel = channel,
            Address = address,
            Payload = payload,
            FallbackChannel = fallbackChannel,
            Status = DeliveryRecord.Pending,
            NextAttemptAt = now,
            CreatedAt = now,
            UpdatedAt = now,
            TraceParent = EventBusTracing.CurrentTraceParent(),
        };
}
