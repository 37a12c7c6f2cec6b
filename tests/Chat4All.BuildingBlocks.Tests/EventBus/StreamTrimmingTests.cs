using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Retention;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

/// <summary>The consumed-stream-entries retention rule against a real Redis: only what every group is done with, and is old enough, goes.</summary>
public sealed class StreamTrimmingTests : IAsyncLifetime
{
    private RedisScope _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisScope.CreateAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task EntriesEveryGroupAcknowledgedAreTrimmedOnceOldEnoughWhileAnotherGroupsPendingAndUnreadEntriesStay()
    {
        var deliveries = new Deliveries();
        await using var host = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a",
            new Dictionary<string, string?> { ["Chat4All:EventBus:Shards"] = "1" });
        var events = Enumerable.Range(0, 5).Select(_ => BusHost.NewEvent("conversation-trim")).ToList();
        foreach (var e in events)
        {
            await host.Bus.PublishAsync(e, CancellationToken.None);
        }

        await deliveries.WaitUntilAsync(calls => calls.Count == events.Count);
        var stream = _redis.Stream("conversation-trim", shards: 1);
        await RedisScope.WaitUntilAsync(async () => (await _redis.Database.StreamPendingAsync(stream, BusHost.Group)).PendingMessageCount == 0);
        var rule = host.Services.GetServices<RetentionRule>().Single(r => r.Name == RetentionRules.ConsumedStreamEntries);
        var later = DateTimeOffset.UtcNow.AddMinutes(1);

        // Younger than the age: kept although acknowledged.
        Assert.Equal(0, await rule.PurgeBatchAsync(host.Services, DateTimeOffset.UtcNow.AddHours(-1), 1000, CancellationToken.None));

        // Another group that has read nothing yet holds everything.
        await _redis.Database.StreamCreateConsumerGroupAsync(stream, "laggard", StreamPosition.Beginning);
        Assert.Equal(0, await rule.PurgeBatchAsync(host.Services, later, 1000, CancellationToken.None));

        // It reads three and acknowledges two: the two go, its pending one and the unread ones stay.
        var read = await _redis.Database.StreamReadGroupAsync(stream, "laggard", "reader", StreamPosition.NewMessages, 3);
        await _redis.Database.StreamAcknowledgeAsync(stream, "laggard", [read[0].Id, read[1].Id]);
        Assert.Equal(2, await rule.PurgeBatchAsync(host.Services, later, 1000, CancellationToken.None));
        Assert.Equal(3, await _redis.Database.StreamLengthAsync(stream));
        Assert.Equal(read[2].Id, (await _redis.Database.StreamRangeAsync(stream, count: 1))[0].Id);
    }
}
