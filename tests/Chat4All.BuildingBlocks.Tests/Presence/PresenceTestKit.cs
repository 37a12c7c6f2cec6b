using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.BuildingBlocks.Presence;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Tests.Presence;

/// <summary>Builds presence adapters the way their hosts would, over test doubles where the host would have Dapr.</summary>
public static class PresenceTestKit
{
    private static readonly ServiceProvider MetricsServices = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public static PresenceMetrics Metrics() => new(MetricsServices.GetRequiredService<IMeterFactory>());

    public static IOptions<PresenceOptions> Options(string keyPrefix = "chat4all", TimeSpan? ttl = null) =>
        Microsoft.Extensions.Options.Options.Create(new PresenceOptions { KeyPrefix = keyPrefix, ConnectionTtl = ttl ?? PresenceCases.Ttl });

    internal static RedisPresenceTracker Redis(IConnectionMultiplexer connection, string keyPrefix, TimeProvider time) =>
        new(connection, Options(keyPrefix), time, Metrics(), NullLogger<RedisPresenceTracker>.Instance);

    /// <summary>A <see cref="UserPresenceActor"/> for <paramref name="userId"/> as <c>ActorHost.CreateForTest</c> hosts it.</summary>
    public static UserPresenceActor Actor(Guid userId, IEventBus bus, TimeProvider time, FakeActorStateManager state, RecordingTimerManager timers)
    {
        var host = ActorHost.CreateForTest<UserPresenceActor>(new ActorTestOptions
        {
            ActorId = new ActorId(userId.ToString("D")),
            TimerManager = timers,
        });
        return new UserPresenceActor(host, bus, time, Options(), Metrics(), state);
    }
}

/// <summary>
/// Actor state in memory, kept as JSON the way Dapr's actor state provider stores it (web defaults),
/// so the state type must survive the round trip.
/// </summary>
public sealed class FakeActorStateManager : IActorStateManager
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly ConcurrentDictionary<string, string> _state = new();

    public int Writes { get; private set; }

    public string? Raw(string name) => _state.GetValueOrDefault(name);

    public Task UnloadStateAsync(string stateName, UnloadStateOptions? options = null, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task AddStateAsync<T>(string stateName, T value, CancellationToken cancellationToken = default) =>
        _state.TryAdd(stateName, JsonSerializer.Serialize(value, Json)) ? Task.CompletedTask : throw new InvalidOperationException($"State {stateName} exists.");

    public Task AddStateAsync<T>(string stateName, T value, TimeSpan ttl, CancellationToken cancellationToken = default) => AddStateAsync(stateName, value, cancellationToken);

    public async Task<T> GetStateAsync<T>(string stateName, CancellationToken cancellationToken = default) =>
        (await TryGetStateAsync<T>(stateName, cancellationToken)) is { HasValue: true } found ? found.Value : throw new KeyNotFoundException(stateName);

    public Task SetStateAsync<T>(string stateName, T value, CancellationToken cancellationToken = default)
    {
        _state[stateName] = JsonSerializer.Serialize(value, Json);
        Writes++;
        return Task.CompletedTask;
    }

    public Task SetStateAsync<T>(string stateName, T value, TimeSpan ttl, CancellationToken cancellationToken = default) => SetStateAsync(stateName, value, cancellationToken);

    public Task RemoveStateAsync(string stateName, CancellationToken cancellationToken = default) =>
        _state.TryRemove(stateName, out _) ? Task.CompletedTask : throw new KeyNotFoundException(stateName);

    public Task<bool> TryAddStateAsync<T>(string stateName, T value, CancellationToken cancellationToken = default) =>
        Task.FromResult(_state.TryAdd(stateName, JsonSerializer.Serialize(value, Json)));

    public Task<bool> TryAddStateAsync<T>(string stateName, T value, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        TryAddStateAsync(stateName, value, cancellationToken);

    public Task<ConditionalValue<T>> TryGetStateAsync<T>(string stateName, CancellationToken cancellationToken = default) =>
        Task.FromResult(_state.TryGetValue(stateName, out var json)
            ? new ConditionalValue<T>(true, JsonSerializer.Deserialize<T>(json, Json)!)
            : new ConditionalValue<T>(false, default!));

    public Task<bool> TryRemoveStateAsync(string stateName, CancellationToken cancellationToken = default) => Task.FromResult(_state.TryRemove(stateName, out _));

    public Task<bool> ContainsStateAsync(string stateName, CancellationToken cancellationToken = default) => Task.FromResult(_state.ContainsKey(stateName));

    public async Task<T> GetOrAddStateAsync<T>(string stateName, T value, CancellationToken cancellationToken = default)
    {
        await TryAddStateAsync(stateName, value, cancellationToken);
        return await GetStateAsync<T>(stateName, cancellationToken);
    }

    public Task<T> GetOrAddStateAsync<T>(string stateName, T value, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        GetOrAddStateAsync(stateName, value, cancellationToken);

    public async Task<T> AddOrUpdateStateAsync<T>(string stateName, T addValue, Func<string, T, T> updateValueFactory, CancellationToken cancellationToken = default)
    {
        var current = await TryGetStateAsync<T>(stateName, cancellationToken);
        var value = current.HasValue ? updateValueFactory(stateName, current.Value) : addValue;
        await SetStateAsync(stateName, value, cancellationToken);
        return value;
    }

    public Task<T> AddOrUpdateStateAsync<T>(string stateName, T addValue, Func<string, T, T> updateValueFactory, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        AddOrUpdateStateAsync(stateName, addValue, updateValueFactory, cancellationToken);

    public Task ClearCacheAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task SaveStateAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>The actor's timers as the runtime would hold them: registered by name until unregistered.</summary>
public sealed class RecordingTimerManager : ActorTimerManager
{
    private readonly ConcurrentDictionary<string, ActorTimer> _active = new();

    public int Registrations { get; private set; }

    public IReadOnlyDictionary<string, ActorTimer> Active => _active;

    public override Task RegisterTimerAsync(ActorTimer timer)
    {
        _active[timer.Name] = timer;
        Registrations++;
        return Task.CompletedTask;
    }

    public override Task UnregisterTimerAsync(ActorTimerToken timer)
    {
        _active.TryRemove(timer.Name, out _);
        return Task.CompletedTask;
    }

    public override Task RegisterReminderAsync(ActorReminder reminder) => throw new NotSupportedException("Presence uses no reminders.");

    public override Task<IActorReminder> GetReminderAsync(ActorReminderToken reminder) => throw new NotSupportedException("Presence uses no reminders.");

    public override Task UnregisterReminderAsync(ActorReminderToken reminder) => throw new NotSupportedException("Presence uses no reminders.");
}

/// <summary>An event bus that keeps what was published; <see cref="FailNext"/> makes the next publish throw.</summary>
public sealed class RecordingEventBus : IEventBus
{
    private readonly ConcurrentQueue<IntegrationEvent> _published = new();

    public bool FailNext { get; set; }

    public IReadOnlyList<IntegrationEvent> Published => [.. _published];

    public Task PublishAsync(IntegrationEvent integrationEvent, CancellationToken cancellationToken)
    {
        if (FailNext)
        {
            FailNext = false;
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "broker down");
        }

        _published.Enqueue(integrationEvent);
        return Task.CompletedTask;
    }
}

/// <summary>The Redis adapter driven through the shared cases, its clock set to each step's time.</summary>
internal sealed class RedisDriver(IConnectionMultiplexer connection, string keyPrefix) : IPresenceDriver
{
    private readonly FakeTimeProvider _time = new(PresenceCases.Start);
    private readonly Guid _user = Guid.NewGuid();
    private RedisPresenceTracker? _tracker;

    private RedisPresenceTracker Tracker => _tracker ??= PresenceTestKit.Redis(connection, keyPrefix, _time);

    public async Task<(bool Accepted, PresenceFlip Flip)> ConnectAsync(string connectionId, string instanceId, int maxConnections, DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        var update = await Tracker.ConnectAsync(_user, connectionId, instanceId, maxConnections, CancellationToken.None);
        return (update.Accepted, await CheckedFlipAsync(update, at));
    }

    public async Task<PresenceFlip> DisconnectAsync(string connectionId, DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        return await CheckedFlipAsync(await Tracker.DisconnectAsync(_user, connectionId, CancellationToken.None), at);
    }

    public Task HeartbeatAsync(string instanceId, string[] connectionIds, DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        return Tracker.HeartbeatAsync(instanceId, [.. connectionIds.Select(c => (_user, c))], CancellationToken.None);
    }

    public async Task<PresenceFlip> SweepAsync(DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        var changes = await Tracker.SweepAsync(CancellationToken.None);
        Assert.All(changes, c => Assert.Equal(new PresenceChange(_user, false, at), c));
        return changes.Count == 0 ? PresenceFlip.None : PresenceFlip.Offline;
    }

    public async Task<PresenceStatus> ReadAsync(DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        return Assert.Single(await Tracker.GetAsync([_user], CancellationToken.None));
    }

    /// <summary>The status an update reports must be what a read right after it sees.</summary>
    private async Task<PresenceFlip> CheckedFlipAsync(PresenceUpdate update, DateTimeOffset at)
    {
        Assert.Equal(await ReadAsync(at), update.Status);
        Assert.True(update.Change is null || update.Change == new PresenceChange(_user, update.Change.Online, at));
        return update.Change switch { null => PresenceFlip.None, { Online: true } => PresenceFlip.Online, _ => PresenceFlip.Offline };
    }
}

/// <summary>The actor driven through the shared cases: sweeps are its timer ticks, their flips what it published.</summary>
public sealed class ActorDriver : IPresenceDriver
{
    private readonly FakeTimeProvider _time = new(PresenceCases.Start);
    private readonly Guid _user = Guid.NewGuid();
    private readonly RecordingEventBus _bus = new();
    private readonly UserPresenceActor _actor;

    public ActorDriver() => _actor = PresenceTestKit.Actor(_user, _bus, _time, new FakeActorStateManager(), Timers);

    public RecordingTimerManager Timers { get; } = new();

    public async Task<(bool Accepted, PresenceFlip Flip)> ConnectAsync(string connectionId, string instanceId, int maxConnections, DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        var update = await _actor.ConnectAsync(new PresenceConnectRequest(connectionId, instanceId, maxConnections), CancellationToken.None);
        return (update.Accepted, FlipOf(update));
    }

    public async Task<PresenceFlip> DisconnectAsync(string connectionId, DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        return FlipOf(await _actor.DisconnectAsync(new PresenceDisconnectRequest(connectionId), CancellationToken.None));
    }

    public Task HeartbeatAsync(string instanceId, string[] connectionIds, DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        return _actor.HeartbeatAsync(new PresenceHeartbeatRequest(instanceId, connectionIds), CancellationToken.None);
    }

    public async Task<PresenceFlip> SweepAsync(DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        var before = _bus.Published.Count;
        await _actor.SweepAsync();
        return _bus.Published.Count > before ? PresenceFlip.Offline : PresenceFlip.None;
    }

    public async Task<PresenceStatus> ReadAsync(DateTimeOffset at)
    {
        _time.SetUtcNow(at);
        return await _actor.GetAsync(CancellationToken.None);
    }

    private static PresenceFlip FlipOf(PresenceUpdate update) =>
        update.Change switch { null => PresenceFlip.None, { Online: true } => PresenceFlip.Online, _ => PresenceFlip.Offline };
}
