using System.Collections.Concurrent;
using Chat4All.BuildingBlocks.EventBus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Chat4All.BuildingBlocks.Tests.EventBus;

/// <summary>A test event record.</summary>
public sealed record Counted(int N);

/// <summary>A second event type on the same topic.</summary>
public sealed record Renamed(string Name);

/// <summary>What the typed consumers received, in order: the event id and its body as a record.</summary>
public sealed class TypedCalls
{
    private readonly ConcurrentQueue<(Guid Id, object Data)> _calls = new();
    private readonly ConcurrentQueue<int> _batches = new();

    public IReadOnlyList<(Guid Id, object Data)> Calls => [.. _calls];

    public IReadOnlyList<int> Batches => [.. _batches];

    public void Add(Guid id, object data) => _calls.Enqueue((id, data));

    public void AddBatch(int size) => _batches.Enqueue(size);

    /// <summary>Events (by <c>n</c>) whose handling waits until released, so the events published meanwhile are read as one batch.</summary>
    public ConcurrentDictionary<int, (TaskCompletionSource Holding, TaskCompletionSource Released)> Holds { get; } = new();

    public async Task HoldAsync(int n, CancellationToken cancellationToken)
    {
        if (Holds.TryGetValue(n, out var hold))
        {
            hold.Holding.TrySetResult();
            await hold.Released.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
    }
}

public sealed class CountedConsumer(TypedCalls calls) : IIntegrationEventConsumer<Counted>
{
    public Task HandleAsync(IntegrationEvent envelope, Counted data, CancellationToken cancellationToken)
    {
        calls.Add(envelope.Id, data);
        return Task.CompletedTask;
    }
}

public sealed class CountedBatchConsumer(TypedCalls calls) : IIntegrationEventBatchConsumer<Counted>
{
    public async Task HandleBatchAsync(IReadOnlyList<ReceivedEvent<Counted>> integrationEvents, CancellationToken cancellationToken)
    {
        foreach (var e in integrationEvents)
        {
            await calls.HoldAsync(e.Data.N, cancellationToken);
        }

        calls.AddBatch(integrationEvents.Count);
        foreach (var e in integrationEvents)
        {
            calls.Add(e.Envelope.Id, e.Data);
        }
    }
}

public sealed class CountedOrRenamedConsumer(TypedCalls calls) : IIntegrationEventConsumer<Counted>, IIntegrationEventConsumer<Renamed>
{
    Task IIntegrationEventConsumer.HandleAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken) =>
        integrationEvent.RouteAsync(this, cancellationToken);

    public Task HandleAsync(IntegrationEvent envelope, Counted data, CancellationToken cancellationToken)
    {
        calls.Add(envelope.Id, data);
        return Task.CompletedTask;
    }

    public Task HandleAsync(IntegrationEvent envelope, Renamed data, CancellationToken cancellationToken)
    {
        calls.Add(envelope.Id, data);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Typed consumers over the real Redis Streams bus: the body is read once, before the handler, as the
/// consumer's record; a body that does not read is a failure like any other, retried and then
/// dead-lettered, and the events after it go on.
/// </summary>
public sealed class TypedConsumerTests : IAsyncLifetime
{
    private const string Topic = "test.typed";

    private static readonly Dictionary<string, string?> OneShardTwoAttempts = new()
    {
        ["Chat4All:EventBus:Shards"] = "1",
        ["Chat4All:EventBus:MaxDeliveryAttempts"] = "2",
    };

    private RedisScope _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisScope.CreateAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task ATypedConsumerGetsEachBodyAsItsRecordAndABodyThatDoesNotReadIsDeadLetteredWhileLaterEventsGoOn()
    {
        var events = new[] { Event("Counted", "{\"n\":1}"), Event("Counted", "not json"), Event("Counted", "{\"n\":2}") };

        var (deadLetter, calls) = await HandleUntilDeadLetteredAsync<CountedConsumer>(events, handled: 2);

        Assert.Equal([(events[0].Id, (object)new Counted(1)), (events[2].Id, new Counted(2))], calls.Calls);
        Assert.Equal(events[1], deadLetter.Event);
        Assert.Contains("JsonException", deadLetter.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATypedBatchConsumerGetsEveryGoodEventOnceInOrderAndOnlyTheMalformedOneIsDeadLettered()
    {
        var calls = new TypedCalls();
        // The first burst has a malformed body at n = 7; the second is clean. Each burst's first event is held
        // until the rest is published, so the rest is read as one batch.
        var first = Enumerable.Range(0, 20).Select(n => Event("Counted", n == 7 ? "{\"n\":" : $"{{\"n\":{n}}}")).ToArray();
        var second = Enumerable.Range(100, 6).Select(n => Event("Counted", $"{{\"n\":{n}}}")).ToArray();
        await using var host = await StartAsync<CountedBatchConsumer>(calls);

        foreach (var (burst, held) in new[] { (first, 0), (second, 100) })
        {
            calls.Holds[held] = (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously));
            await PublishAsync(host, burst.Take(1));
            await calls.Holds[held].Holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await PublishAsync(host, burst.Skip(1));
            calls.Holds[held].Released.SetResult();
            var expected = burst.Where(e => e != first[7]).Select(e => e.Id).ToList();
            await WaitUntilAsync(() => expected.All(id => calls.Calls.Any(c => c.Id == id)));
        }

        var deadLetter = await WaitForDeadLetterAsync(host);
        Assert.Equal(first[7], deadLetter.Event);
        Assert.Contains("JsonException", deadLetter.Error, StringComparison.Ordinal);
        Assert.Equal(first.Concat(second).Where(e => e != first[7]).Select(e => e.Id), calls.Calls.Select(c => c.Id));
        Assert.Equal(Enumerable.Range(0, 20).Where(n => n != 7).Concat(Enumerable.Range(100, 6)).Select(n => (object)new Counted(n)),
            calls.Calls.Select(c => c.Data));
        // The malformed body's batch went one by one; the clean burst after it arrived as one batch of typed events.
        Assert.Equal(second.Length - 1, calls.Batches[^1]);
    }

    [Fact]
    public async Task ATopicWithSeveralEventTypesIsRoutedByTypeAndATypeWithoutAHandlerIsDeadLetteredNotReadAsAnother()
    {
        var events = new[] { Event("Counted", "{\"n\":3}"), Event("Unheard", "{\"n\":4}"), Event("Renamed", "{\"name\":\"bob\"}") };

        var (deadLetter, calls) = await HandleUntilDeadLetteredAsync<CountedOrRenamedConsumer>(events, handled: 2);

        Assert.Equal([(events[0].Id, (object)new Counted(3)), (events[2].Id, new Renamed("bob"))], calls.Calls);
        Assert.Equal(events[1], deadLetter.Event);
        Assert.Contains("no handler for Unheard", deadLetter.Error, StringComparison.Ordinal);
    }

    /// <summary>Publishes <paramref name="events"/> to one consumer; returns the one dead letter once <paramref name="handled"/> events were handled.</summary>
    private async Task<(DeadLetter DeadLetter, TypedCalls Calls)> HandleUntilDeadLetteredAsync<TConsumer>(IntegrationEvent[] events, int handled)
        where TConsumer : class, IIntegrationEventConsumer
    {
        var calls = new TypedCalls();
        await using var host = await StartAsync<TConsumer>(calls);
        await PublishAsync(host, events);
        var deadLetter = await WaitForDeadLetterAsync(host);
        await WaitUntilAsync(() => calls.Calls.Count == handled);
        return (deadLetter, calls);
    }

    private Task<BusHost> StartAsync<TConsumer>(TypedCalls calls)
        where TConsumer : class, IIntegrationEventConsumer =>
        BusHost.StartAsync(_redis.ConnectionString, _redis.Prefix, new Deliveries(), "instance-a", OneShardTwoAttempts, configure: builder =>
        {
            builder.Services.AddSingleton(calls);
            builder.AddEventSubscription<TConsumer>(Topic, BusHost.Group);
        });

    private static IntegrationEvent Event(string type, string data) =>
        new(Guid.CreateVersion7(), Topic, type, "conversation-1", data, DateTimeOffset.UtcNow);

    private static async Task PublishAsync(BusHost host, IEnumerable<IntegrationEvent> events)
    {
        foreach (var e in events)
        {
            await host.Bus.PublishAsync(e, CancellationToken.None);
        }
    }

    private static async Task<DeadLetter> WaitForDeadLetterAsync(BusHost host)
    {
        var reader = host.Services.GetRequiredService<IDeadLetterReader>();
        IReadOnlyList<DeadLetter> letters = [];
        await RedisScope.WaitUntilAsync(async () => (letters = await reader.ReadAsync(Topic, 10, CancellationToken.None)).Count > 0);
        return Assert.Single(letters);
    }

    private static Task WaitUntilAsync(Func<bool> condition) => RedisScope.WaitUntilAsync(() => Task.FromResult(condition()));
}
