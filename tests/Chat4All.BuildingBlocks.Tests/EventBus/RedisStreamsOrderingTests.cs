using System.Globalization;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

public sealed class RedisStreamsOrderingTests : IAsyncLifetime
{
    private RedisScope _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisScope.CreateAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task EventsOfOneKeyAreHandledOnceInPublishOrderAcrossTwoInstancesOfAGroup()
    {
        const int keys = 20;
        const int eventsPerKey = 50;
        var deliveries = new Deliveries
        {
            // A little uneven work per event, so any reordering between shards or instances would show.
            Behavior = async (e, ct) =>
            {
                if (Random.Shared.Next(20) == 0)
                {
                    await Task.Delay(Random.Shared.Next(1, 5), ct);
                }
            },
        };
        await using var first = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a");
        await using var second = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-b");
        await WaitUntilBothInstancesOwnShardsAsync();

        // One publisher per key publishes its sequence in order; the keys race each other, and
        // alternate between the two instances' buses.
        await Task.WhenAll(Enumerable.Range(0, keys).Select(k => Task.Run(async () =>
        {
            var bus = k % 2 == 0 ? first.Bus : second.Bus;
            for (var seq = 0; seq < eventsPerKey; seq++)
            {
                await bus.PublishAsync(BusHost.NewEvent($"conversation-{k}", $"{{\"seq\":{seq}}}"), CancellationToken.None);
            }
        })));

        await deliveries.WaitUntilAsync(calls => calls.Count >= keys * eventsPerKey);
        await Task.Delay(200); // a duplicate delivery, if any, would arrive now
        var calls = deliveries.Calls;

        Assert.Equal(keys * eventsPerKey, calls.Count);
        Assert.Equal(keys * eventsPerKey, calls.Select(c => c.Event.Id).Distinct().Count());
        foreach (var key in calls.GroupBy(c => c.Event.PartitionKey))
        {
            var order = key.Select(c => JsonDocument.Parse(c.Event.Data).RootElement.GetProperty("seq").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, eventsPerKey), order);
        }

        Assert.Equal(["instance-a", "instance-b"], calls.Select(c => c.Instance).Distinct().Order());
    }

    [Fact]
    public async Task InstanceStoppingMidStreamHandsItsShardsOverWithoutLosingOrReorderingEvents()
    {
        const int keys = 10;
        const int eventsPerKey = 60;
        var deliveries = new Deliveries { Behavior = (_, ct) => Task.Delay(1, ct) };
        await using var leaving = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-a");
        await using var staying = await BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, deliveries, "instance-b");
        await WaitUntilBothInstancesOwnShardsAsync();

        var publishing = Task.WhenAll(Enumerable.Range(0, keys).Select(k => Task.Run(async () =>
        {
            for (var seq = 0; seq < eventsPerKey; seq++)
            {
                await staying.Bus.PublishAsync(BusHost.NewEvent($"conversation-{k}", $"{{\"seq\":{seq}}}"), CancellationToken.None);
                await Task.Delay(2);
            }
        })));
        await deliveries.WaitUntilAsync(calls => calls.Count(c => c.Instance == "instance-a") >= 20);
        await leaving.DisposeAsync(); // a rolling restart: finishes the event in hand, releases its leases
        await publishing;

        await deliveries.WaitUntilAsync(calls => calls.Select(c => c.Event.Id).Distinct().Count() >= keys * eventsPerKey);
        await Task.Delay(200);
        var calls = deliveries.Calls;
        Assert.Equal(keys * eventsPerKey, calls.Count);
        foreach (var key in calls.GroupBy(c => c.Event.PartitionKey))
        {
            var order = key.Select(c => JsonDocument.Parse(c.Event.Data).RootElement.GetProperty("seq").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, eventsPerKey), order);
        }

        // After the hand-over the remaining instance handled the leaving one's shards too.
        var handOver = calls.Last(c => c.Instance == "instance-a").At;
        Assert.Contains(calls, c => c.Instance == "instance-b" && c.At > handOver);
    }

    // Shards are spread by fair share (ceil(4 shards / 2 instances) = 2 each); the second instance
    // gets its share once the first hands the surplus back.
    private async Task WaitUntilBothInstancesOwnShardsAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var owners = new List<string>();
            for (var shard = 0; shard < 4; shard++)
            {
                var owner = await _redis.Database.StringGetAsync(RedisStreamKeys.Lease(_redis.Prefix, BusHost.Group, BusHost.Topic, shard));
                owners.Add(owner.IsNull ? "" : owner.ToString().Split('/')[0]);
            }

            if (owners.Count(o => o == "instance-a") == 2 && owners.Count(o => o == "instance-b") == 2)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "Shards were not shared: " + string.Join(", ", owners.Select((o, i) => string.Create(CultureInfo.InvariantCulture, $"{i}={o}"))));
            await Task.Delay(50);
        }
    }
}
