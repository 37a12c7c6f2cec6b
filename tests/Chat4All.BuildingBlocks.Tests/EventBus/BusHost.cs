using System.Collections.Concurrent;
using Chat4All.BuildingBlocks.EventBus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

/// <summary>One call of a test consumer: what it got, on which host, when, and in which DI scope.</summary>
public sealed record HandlerCall(IntegrationEvent Event, string Instance, DateTimeOffset At, Guid Scope);

/// <summary>Every handler call the test consumers saw, from every host of a test, in call order.</summary>
public sealed class Deliveries
{
    private readonly ConcurrentQueue<HandlerCall> _calls = new();
    private readonly ConcurrentQueue<int> _batchSizes = new();

    /// <summary>What the consumer does after recording the call; throwing means "not handled".</summary>
    public Func<IntegrationEvent, CancellationToken, Task> Behavior { get; set; } = (_, _) => Task.CompletedTask;

    public IReadOnlyList<HandlerCall> Calls => [.. _calls];

    /// <summary>The size of every batch a batch consumer committed, in order.</summary>
    public IReadOnlyList<int> BatchSizes => [.. _batchSizes];

    public void RecordBatch(int size) => _batchSizes.Enqueue(size);

    public void Record(IntegrationEvent integrationEvent, string instance, Guid scope) =>
        _calls.Enqueue(new HandlerCall(integrationEvent, instance, DateTimeOffset.UtcNow, scope));

    /// <summary>Polls until <paramref name="condition"/> holds; fails the test after <paramref name="timeout"/> (at most 30 s).</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<HandlerCall>, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition(Calls))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met in time; {Calls.Count} handler calls so far.");
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>The instance name a consumer reports, so tests can tell two hosts apart.</summary>
public sealed record InstanceName(string Value);

/// <summary>A scoped dependency, standing in for a DbContext: one per event, disposed after it.</summary>
public sealed class ScopedProbe : IDisposable
{
    public Guid Id { get; } = Guid.NewGuid();

    public bool Disposed { get; private set; }

    public void Dispose() => Disposed = true;
}

/// <summary>A consumer that records each call in the test's <see cref="Deliveries"/>, then runs its behaviour.</summary>
public sealed class RecordingConsumer(Deliveries deliveries, InstanceName instance, ScopedProbe scope) : IIntegrationEventConsumer
{
    public async Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        Assert.False(scope.Disposed);
        deliveries.Record(integrationEvent, instance.Value, scope.Id);
        await deliveries.Behavior(integrationEvent, cancellationToken);
    }
}

/// <summary>
/// A batch consumer that behaves like one transaction: it runs the behaviour for every event of the
/// batch and records them (in one scope) only if none threw, as a database commit would.
/// </summary>
public sealed class RecordingBatchConsumer(Deliveries deliveries, InstanceName instance, ScopedProbe scope) : IIntegrationEventBatchConsumer
{
    public Task HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken) =>
        HandleBatchAsync([integrationEvent], cancellationToken);

    public async Task HandleBatchAsync(IReadOnlyList<IntegrationEvent> integrationEvents, CancellationToken cancellationToken)
    {
        Assert.False(scope.Disposed);
        foreach (var integrationEvent in integrationEvents)
        {
            await deliveries.Behavior(integrationEvent, cancellationToken);
        }

        deliveries.RecordBatch(integrationEvents.Count);
        foreach (var integrationEvent in integrationEvents)
        {
            deliveries.Record(integrationEvent, instance.Value, scope.Id);
        }
    }
}

/// <summary>
/// A generic host with the event bus and one <see cref="RecordingConsumer"/> subscription (or a
/// <see cref="RecordingBatchConsumer"/> one), configured
/// like a service would be, against a real Redis and under a key prefix unique to the test.
/// </summary>
public sealed class BusHost : IAsyncDisposable
{
    public const string Topic = "test.events";
    public const string Group = "tests";

    private readonly IHost _host;
    private bool _disposed;

    private BusHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public IEventBus Bus => _host.Services.GetRequiredService<IEventBus>();

    public static async Task<BusHost> StartAsync(string redis, string keyPrefix, Deliveries deliveries, string instance,
        IReadOnlyDictionary<string, string?>? settings = null, bool batchConsumer = false, Action<HostApplicationBuilder>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        var configuration = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Redis"] = redis,
            ["Chat4All:Runtime"] = "standalone",
            ["Chat4All:EventBus:KeyPrefix"] = keyPrefix,
            ["Chat4All:EventBus:ConsumerName"] = instance,
            ["Chat4All:EventBus:Shards"] = "4",
            ["Chat4All:EventBus:LeaseDuration"] = "00:00:01.500",
            ["Chat4All:EventBus:InitialRetryDelay"] = "00:00:00.050",
            ["Chat4All:EventBus:PollInterval"] = "00:00:00.020",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddSingleton(deliveries);
        builder.Services.AddSingleton(new InstanceName(instance));
        builder.Services.AddScoped<ScopedProbe>();
        if (batchConsumer)
        {
            builder.AddEventSubscription<RecordingBatchConsumer>(Topic, Group);
        }
        else
        {
            builder.AddEventSubscription<RecordingConsumer>(Topic, Group);
        }

        configure?.Invoke(builder);
        var host = builder.Build();
        await host.StartAsync();
        return new BusHost(host);
    }

    public static IntegrationEvent NewEvent(string partitionKey, string data = "{\"n\":0}", string type = "TestHappened", string? traceParent = null) =>
        new(Guid.CreateVersion7(), Topic, type, partitionKey, data, DateTimeOffset.UtcNow, traceParent);

    /// <summary>Stops like a graceful shutdown (handlers in flight finish, leases are released). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>A unique key prefix per test on the shared test Redis, and the cleanup of its keys.</summary>
public sealed class RedisScope : IAsyncDisposable
{
    private RedisScope(ConnectionMultiplexer connection, string connectionString)
    {
        Connection = connection;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public string Prefix { get; } = "c4a-test-" + Guid.NewGuid().ToString("N")[..12];

    public ConnectionMultiplexer Connection { get; }

    public IDatabase Database => Connection.GetDatabase();

    public static async Task<RedisScope> CreateAsync()
    {
        var connectionString = await TestInfrastructure.RedisConnectionStringAsync();
        return new RedisScope(await ConnectionMultiplexer.ConnectAsync(connectionString), connectionString);
    }

    /// <summary>Polls <paramref name="condition"/> (a Redis read, say) until it holds; fails the test after 30 s.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Condition not met within 30 s.");
            await Task.Delay(20);
        }
    }

    public string Stream(string partitionKey, int shards = 4) =>
        RedisStreamKeys.Stream(Prefix, BusHost.Topic, RedisStreamKeys.ShardOf(partitionKey, shards));

    public async ValueTask DisposeAsync()
    {
        foreach (var endpoint in Connection.GetEndPoints())
        {
            var keys = Connection.GetServer(endpoint).KeysAsync(pattern: Prefix + ":*");
            await foreach (var key in keys)
            {
                await Database.KeyDeleteAsync(key);
            }
        }

        await Connection.DisposeAsync();
    }
}
