using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.BuildingBlocks.Tests.EventBus;
using Chat4All.Contracts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Tests.StateStore;

/// <summary>
/// The standalone runtime end to end: a host registered with AddStateStore commits state and its
/// event, and the outbox relay it brings publishes the event to the Redis stream of its topic.
/// </summary>
public sealed class StateStoreRelayTests(StateDatabase database) : IClassFixture<StateDatabase>
{
    [Fact]
    public async Task TheOutboxRelayPublishesAStateEventToItsRedisStreamSoonAfterTheCommit()
    {
        await using var redis = await RedisScope.CreateAsync();
        using var host = Build(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Chat4All:EventBus:KeyPrefix"] = redis.Prefix,
            // An idle relay would look again only after a minute: the commit's signal must wake it.
            ["Chat4All:Outbox:PollInterval"] = "00:01:00",
        });
        await host.StartAsync();
        var key = "delivery:" + Guid.NewGuid();
        var change = new DeliveryStatusChanged(Guid.NewGuid(), "telegram", "delivered");
        var stateEvent = StateEvent.Create(key, Topics.MessageStatusChanged, change.MessageId.ToString(), change, DateTimeOffset.UtcNow);

        await using (var scope = host.Services.CreateAsyncScope())
        {
            var store = scope.ServiceProvider.GetRequiredService<IStateStore>();
            Assert.IsType<PostgresStateStore<StateTestDbContext>>(store);
            await store.ExecuteAsync([new StateUpsert(key, new DeliveryRecord(change.MessageId, "telegram", "delivered", 1))], [stateEvent],
                CancellationToken.None);
        }

        var stream = RedisStreamKeys.Stream(redis.Prefix, Topics.MessageStatusChanged, RedisStreamKeys.ShardOf(stateEvent.PartitionKey, 8));
        var entry = await WaitForEntryAsync(redis.Database, stream, stateEvent.EventId, TimeSpan.FromSeconds(10));
        Assert.True(RedisStreamEntries.TryDecode(Topics.MessageStatusChanged, entry, out var published, out var error), error);
        Assert.Equal(nameof(DeliveryStatusChanged), published.Type);
        Assert.Equal(stateEvent.PartitionKey, published.PartitionKey);
        Assert.Equal("delivered", JsonDocument.Parse(published.Data).RootElement.GetProperty("new_status").GetString());

        // The relay marks the row after the broker took the event, in a commit of its own.
        await WaitUntilPublishedAsync(database.ConnectionString, stateEvent.EventId, TimeSpan.FromSeconds(10));
        await host.StopAsync();
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        settings["Chat4All:Runtime"] = "standalone";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDbContext<StateTestDbContext>(StateTestDbContext.Schema);
        builder.AddStateStore<StateTestDbContext>();
        return builder.Build();
    }

    private static async Task WaitUntilPublishedAsync(string connectionString, Guid eventId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await using var db = StateTestDbContext.Open(connectionString);
        while (await db.Set<OutboxMessage>().AsNoTracking().SingleAsync(m => m.EventId == eventId) is { PublishedAt: null })
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Outbox row of event {eventId} was not marked published within {timeout}.");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<StreamEntry> WaitForEntryAsync(IDatabase redis, string stream, Guid eventId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var entry in await redis.StreamRangeAsync(stream))
            {
                if (entry[RedisStreamEntries.Id] == eventId.ToString("D"))
                {
                    return entry;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Event {eventId} did not reach {stream} within {timeout}.");
            }

            await Task.Delay(50);
        }
    }
}
