using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Delivery.Deliveries;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Delivery.Tests;

/// <summary>
/// Deliveries due at the same moment are attempted as one batch (ADR 0070). A record in the batch
/// that cannot be attempted must neither hold back nor lose the others.
/// </summary>
public sealed class BatchedAttemptTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    [Fact]
    public async Task ARecordThatCannotBeAttemptedDoesNotHoldBackOrLoseTheOthersOfItsBatch()
    {
        var now = DateTimeOffset.UtcNow;
        var due = now.AddSeconds(2); // all of them due at once, so the dispatcher takes them as one batch
        var (messageId, conversationId, senderId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var payload = new MessagePayload("text", "batched", null);
        var good = Enumerable.Range(0, 6)
            .Select(_ => DeliveryRouter.NewRecord(messageId, conversationId, senderId, Guid.NewGuid(), Channels.WhatsApp,
                DeliveryPlatform.UniqueAddress(Channels.WhatsApp), payload, fallbackChannel: null, now) with { NextAttemptAt = due })
            .ToList();
        // Stored under a well-formed key, but its value names no channel: no connector can take it.
        var poisonShape = DeliveryRouter.NewRecord(messageId, conversationId, senderId, Guid.NewGuid(), Channels.WhatsApp,
            DeliveryPlatform.UniqueAddress(Channels.WhatsApp), payload, fallbackChannel: null, now) with { NextAttemptAt = due };
        var poisonKey = poisonShape.Key;
        var operations = good.Select(r => (StateOperation)new StateUpsert(r.Key, r)).ToList();
        operations.Insert(3, new StateUpsert(poisonKey, poisonShape with { Channel = null! }));
        var events = good.Select(r => DeliveryProcessor.CreatedEvent(r, now)).Append(DeliveryProcessor.CreatedEvent(poisonShape, now)).ToList();
        await using (var scope = platform.Host.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<IStateStore>().ExecuteAsync(operations, events, CancellationToken.None);
        }

        var dispatcher = platform.Host.Services.GetRequiredService<DeliveryDispatcher>();
        foreach (var key in operations.Select(o => o.Key))
        {
            dispatcher.Schedule(key, due);
        }

        try
        {
            foreach (var record in good)
            {
                var sent = await WaitForRecordAsync(record.Key, r => DeliveryRecord.Rank(r.Status) >= DeliveryRecord.Rank(DeliveryStatuses.Sent));
                Assert.Equal(1, sent.Attempts);
                Assert.NotNull(sent.ProviderMessageId);
            }

            var poison = await ReadAsync(poisonKey);
            Assert.NotNull(poison);
            Assert.Equal(DeliveryRecord.Pending, poison.Status);
            Assert.Equal(0, poison.Attempts);
        }
        finally
        {
            await using var scope = platform.Host.Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<IStateStore>().ExecuteAsync([new StateDelete(poisonKey)], [], CancellationToken.None);
        }
    }

    [Fact]
    public async Task ABatchWhoseReadFailsOnAnUnreadableRecordIsAttemptedAgainOneKeyAtATime()
    {
        var now = DateTimeOffset.UtcNow;
        var due = now.AddSeconds(2);
        var (messageId, conversationId, senderId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var good = Enumerable.Range(0, 5)
            .Select(_ => DeliveryRouter.NewRecord(messageId, conversationId, senderId, Guid.NewGuid(), Channels.Sms,
                DeliveryPlatform.UniqueAddress(Channels.Sms), new MessagePayload("text", "unreadable neighbour", null), fallbackChannel: null, now) with
            { NextAttemptAt = due })
            .ToList();
        var unreadableKey = DeliveryRecord.KeyOf(messageId, Guid.NewGuid(), Channels.Sms);
        await using (var scope = platform.Host.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<IStateStore>().ExecuteAsync([.. good.Select(r => new StateUpsert(r.Key, r))],
                [.. good.Select(r => DeliveryProcessor.CreatedEvent(r, now))], CancellationToken.None);
            // A value no DeliveryRecord can be read from: reading the batch it is in fails as a whole.
            await scope.ServiceProvider.GetRequiredService<Data.DeliveryDbContext>().Database.ExecuteSqlAsync(
                $"INSERT INTO delivery.state (key, value, etag, updated_at) VALUES ({unreadableKey}, '{{\"status\":\"pending\",\"attempts\":\"many\"}}'::jsonb, 1, now())");
        }

        var dispatcher = platform.Host.Services.GetRequiredService<DeliveryDispatcher>();
        foreach (var key in good.Select(r => r.Key).Prepend(unreadableKey))
        {
            dispatcher.Schedule(key, due);
        }

        try
        {
            foreach (var record in good)
            {
                var sent = await WaitForRecordAsync(record.Key, r => DeliveryRecord.Rank(r.Status) >= DeliveryRecord.Rank(DeliveryStatuses.Sent));
                Assert.Equal(1, sent.Attempts);
            }
        }
        finally
        {
            await using var scope = platform.Host.Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<Data.DeliveryDbContext>().Database.ExecuteSqlAsync(
                $"DELETE FROM delivery.state WHERE key = {unreadableKey}");
        }
    }

    private async Task<DeliveryRecord?> ReadAsync(string key)
    {
        await using var scope = platform.Host.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<IStateStore>().GetAsync<DeliveryRecord>(key, CancellationToken.None))?.Value;
    }

    private async Task<DeliveryRecord> WaitForRecordAsync(string key, Func<DeliveryRecord, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        DeliveryRecord? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await ReadAsync(key);
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Delivery {key} never met the condition; last seen: {last}");
    }
}
