using Chat4All.BuildingBlocks.EventBus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

public sealed class EventBusRegistrationTests
{
    [Fact]
    public void ServicesThatEachAddTheBusShareOneBusAndOneConsumerHost()
    {
        var builder = NewBuilder(new Dictionary<string, string?>());
        builder.AddEventBus();
        builder.AddEventSubscription<RecordingConsumer>(BusHost.Topic, "messaging");
        builder.AddEventSubscription<RecordingConsumer>(BusHost.Topic, "messaging");
        builder.AddEventBus();

        Assert.Single(builder.Services, d => d.ServiceType == typeof(IEventBus));
        Assert.Single(builder.Services, d => d.ImplementationType == typeof(RedisStreamsConsumer));
        Assert.Single(builder.Services, d => d.ServiceType == typeof(EventSubscription));
    }

    [Fact]
    public void ASecondConsumerOfTheSameTopicAndGroupJoinsTheFirstInOneSubscription()
    {
        var builder = NewBuilder(new Dictionary<string, string?>());
        builder.AddEventSubscription<RecordingConsumer>(BusHost.Topic, "messaging");
        builder.AddEventSubscription<OtherConsumer>(BusHost.Topic, "messaging");
        builder.AddEventSubscription<OtherConsumer>(BusHost.Topic, "messaging");

        var subscription = Assert.Single(builder.Services, d => d.ServiceType == typeof(EventSubscription)).ImplementationInstance as EventSubscription;
        Assert.Equal([typeof(RecordingConsumer), typeof(OtherConsumer)], subscription!.ConsumerTypes);
    }

    [Fact]
    public async Task BothConsumersOfOneGroupHandleEveryEventAndAFailureOfTheSecondRetriesItForBoth()
    {
        await using var redis = await RedisScope.CreateAsync();
        var deliveries = new Deliveries();
        var second = new SecondConsumerCalls { FailuresLeft = 1 };
        await using var host = await BusHost.StartAsync(redis.ConnectionString, redis.Prefix, deliveries, "one",
            configure: b =>
            {
                b.Services.AddSingleton(second);
                b.AddEventSubscription<SecondConsumer>(BusHost.Topic, BusHost.Group);
            });
        var events = Enumerable.Range(0, 3).Select(i => BusHost.NewEvent("key-1", $"{{\"n\":{i}}}")).ToList();

        foreach (var e in events)
        {
            await host.Bus.PublishAsync(e, CancellationToken.None);
        }

        await deliveries.WaitUntilAsync(calls => calls.Count >= 4);
        await second.WaitUntilAsync(3);
        // The first event ran twice through the first consumer (the second failed once), then each once.
        Assert.Equal([events[0].Id, events[0].Id, events[1].Id, events[2].Id], deliveries.Calls.Select(c => c.Event.Id));
        Assert.Equal(events.Select(e => e.Id), second.Handled);
    }

    private sealed class SecondConsumerCalls
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<Guid> _handled = new();

        public int FailuresLeft;

        public IReadOnlyList<Guid> Handled => [.. _handled];

        public void Record(Guid id) => _handled.Enqueue(id);

        public async Task WaitUntilAsync(int count)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (_handled.Count < count)
            {
                await Task.Delay(20, deadline.Token);
            }
        }
    }

    private sealed class SecondConsumer(SecondConsumerCalls calls) : IIntegrationEventConsumer
    {
        public Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref calls.FailuresLeft) >= 0)
            {
                throw new InvalidOperationException("the second consumer fails once");
            }

            calls.Record(integrationEvent.Id);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var builder = NewBuilder(new Dictionary<string, string?>());
        builder.AddEventBus();
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<EventBusOptions>>().Value;

        Assert.Equal(8, options.Shards);
        Assert.Equal(4, options.MaxDeliveryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), options.InitialRetryDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ClaimIdleAfter);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.PollInterval);
        Assert.Equal("chat4all", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromHours(24), options.DedupeWindow);
        Assert.Equal(TimeSpan.FromSeconds(15), options.LeaseDuration);
        Assert.Null(options.MaxStreamLength);
        Assert.Equal($"{Environment.MachineName}-{Environment.ProcessId}", options.ConsumerName);
    }

    [Fact]
    public async Task MisconfiguredBusRefusesToStart()
    {
        var builder = NewBuilder(new Dictionary<string, string?> { ["Chat4All:EventBus:Shards"] = "0" });
        builder.AddEventBus();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Shards", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PartitionKeysMapToStableShards()
    {
        // FNV-1a 32-bit: these values are the same in every process and release.
        Assert.Equal(2166136261u % 8, (uint)RedisStreamKeys.ShardOf("", 8));
        Assert.Equal(0xe40c292cu % 8, (uint)RedisStreamKeys.ShardOf("a", 8));
        Assert.Equal(0xbf9cf968u % 1024, (uint)RedisStreamKeys.ShardOf("foobar", 1024));
        Assert.Equal("chat4all:stream:message.created:3", RedisStreamKeys.Stream("chat4all", "message.created", 3));
        Assert.Equal("chat4all:stream:message.created.dlq", RedisStreamKeys.DeadLetterStream("chat4all", "message.created"));
    }

    private static HostApplicationBuilder NewBuilder(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        settings["ConnectionStrings:Redis"] = "127.0.0.1:1,abortConnect=false";
        settings["Chat4All:Runtime"] = "dapr"; // keeps the Redis consumer idle
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    private sealed class OtherConsumer : IIntegrationEventConsumer
    {
        public Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
