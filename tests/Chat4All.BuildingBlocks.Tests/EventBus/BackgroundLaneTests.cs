using System.Collections.Concurrent;
using Chat4All.BuildingBlocks.EventBus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

public sealed class BackgroundLaneTests
{
    [Fact]
    public async Task WhileBackgroundHandlersHoldEveryTurnAPriorityGroupStillHandlesNewEventsAndTheWaitingBackgroundEventRunsOnceATurnIsFree()
    {
        await using var redis = await RedisScope.CreateAsync();
        var background = new Deliveries();
        var priority = new PriorityCalls();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = BusHost.NewEvent("key-0");
        // A key on another shard, so only the lane (not the shard's order) can hold its event back.
        var otherKey = Enumerable.Range(1, 100).Select(i => "key-" + i).First(k => RedisStreamKeys.ShardOf(k, 4) != RedisStreamKeys.ShardOf("key-0", 4));
        var second = BusHost.NewEvent(otherKey);
        background.Behavior = async (e, cancellationToken) =>
        {
            if (e.Id == first.Id)
            {
                await release.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            }
        };
        await using var host = await BusHost.StartAsync(redis.ConnectionString, redis.Prefix, background, "one",
            new Dictionary<string, string?>
            {
                ["Chat4All:EventBus:BackgroundConcurrency"] = "1",
                ["Chat4All:EventBus:PriorityGroups"] = "realtime",
            },
            configure: b =>
            {
                b.Services.AddSingleton(priority);
                b.AddEventSubscription<PriorityConsumer>(BusHost.Topic, "realtime");
            });

        await host.Bus.PublishAsync(first, CancellationToken.None);
        await background.WaitUntilAsync(calls => calls.Count == 1);
        await host.Bus.PublishAsync(second, CancellationToken.None);

        // The priority group handles both while the only background turn is taken.
        await priority.WaitUntilAsync(first.Id, second.Id);
        await Task.Delay(300);
        Assert.Equal([first.Id], background.Calls.Select(c => c.Event.Id));

        release.SetResult();
        await background.WaitUntilAsync(calls => calls.Any(c => c.Event.Id == second.Id));
        Assert.Equal([first.Id, second.Id], background.Calls.Select(c => c.Event.Id));
    }

    public sealed class PriorityCalls
    {
        public ConcurrentQueue<Guid> Handled { get; } = new();

        public async Task WaitUntilAsync(params Guid[] ids)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!ids.All(Handled.Contains))
            {
                Assert.True(DateTime.UtcNow < deadline, "The priority group did not handle the events in time.");
                await Task.Delay(20);
            }
        }
    }

    public sealed class PriorityConsumer(PriorityCalls calls) : IIntegrationEventConsumer
    {
        public Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
        {
            calls.Handled.Enqueue(integrationEvent.Id);
            return Task.CompletedTask;
        }
    }
}
