using System.Diagnostics;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.Presence;

/// <summary>Registers a connection unless the user already has <paramref name="MaxConnections"/> live ones.</summary>
public sealed record PresenceConnectRequest(string ConnectionId, string InstanceId, int MaxConnections);

/// <summary>Removes a connection (idempotent).</summary>
public sealed record PresenceDisconnectRequest(string ConnectionId);

/// <summary>Extends these connections of <paramref name="InstanceId"/> by another TTL.</summary>
public sealed record PresenceHeartbeatRequest(string InstanceId, IReadOnlyList<string> ConnectionIds);

/// <summary>
/// The <c>UserPresence</c> actor (dapr runtime): one per user, actor id = user id. Called
/// weakly typed (plain JSON, method name = C# method name) so any language can call it through its sidecar.
/// </summary>
public interface IUserPresenceActor : IActor
{
    Task<PresenceUpdate> ConnectAsync(PresenceConnectRequest request, CancellationToken cancellationToken);

    Task<PresenceUpdate> DisconnectAsync(PresenceDisconnectRequest request, CancellationToken cancellationToken);

    Task HeartbeatAsync(PresenceHeartbeatRequest request, CancellationToken cancellationToken);

    Task<PresenceStatus> GetAsync(CancellationToken cancellationToken);
}

/// <summary>
/// One user's presence in actor state (the Redis actor store), changed only through
/// <see cref="PresenceStateMachine"/>. While the user has connections a timer sweeps lapsed ones every
/// heartbeat interval; a sweep that takes the user offline publishes <c>presence.changed</c> itself,
/// since no caller is there to do it. Connect and disconnect return their change for the caller to
/// announce, as the standalone adapter does. See docs/adr/0011-presence.md.
/// </summary>
[Actor(TypeName = Actors.UserPresence)]
public sealed class UserPresenceActor : Actor, IUserPresenceActor
{
    internal const string StateName = "presence";
    internal const string SweepTimerName = "sweep";

    private readonly IEventBus _bus;
    private readonly TimeProvider _time;
    private readonly PresenceMetrics _metrics;
    private readonly PresenceStateMachine _machine;
    private readonly TimeSpan _sweepInterval;

    // Timers live as long as this activation; a new activation registers again on its first call.
    private bool _timerRegistered;

    public UserPresenceActor(ActorHost host, IEventBus bus, TimeProvider time, IOptions<PresenceOptions> options, PresenceMetrics metrics)
        : base(host)
    {
        _bus = bus;
        _time = time;
        _metrics = metrics;
        _machine = new PresenceStateMachine(options.Value.ConnectionTtl);
        _sweepInterval = options.Value.HeartbeatInterval;
    }

    /// <summary>For tests: the same actor over a given state manager (docs/architecture.md §6).</summary>
    internal UserPresenceActor(ActorHost host, IEventBus bus, TimeProvider time, IOptions<PresenceOptions> options, PresenceMetrics metrics, IActorStateManager stateManager)
        : this(host, bus, time, options, metrics) => StateManager = stateManager;

    private Guid UserId => Guid.Parse(Id.GetId());

    public async Task<PresenceUpdate> ConnectAsync(PresenceConnectRequest request, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var outcome = _machine.Connect(await LoadAsync(cancellationToken), request.ConnectionId, request.InstanceId, request.MaxConnections, now);
        await StoreAsync(outcome.State, cancellationToken);
        return outcome.ToUpdate(UserId, now);
    }

    public async Task<PresenceUpdate> DisconnectAsync(PresenceDisconnectRequest request, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var outcome = PresenceStateMachine.Disconnect(await LoadAsync(cancellationToken), request.ConnectionId, now);
        await StoreAsync(outcome.State, cancellationToken);
        return outcome.ToUpdate(UserId, now);
    }

    public async Task HeartbeatAsync(PresenceHeartbeatRequest request, CancellationToken cancellationToken)
    {
        var state = _machine.Heartbeat(await LoadAsync(cancellationToken), request.InstanceId, request.ConnectionIds, _time.GetUtcNow());
        await StoreAsync(state, cancellationToken);
    }

    public async Task<PresenceStatus> GetAsync(CancellationToken cancellationToken)
    {
        var state = await LoadAsync(cancellationToken);
        await SyncTimerAsync(state);
        return PresenceStateMachine.StatusAt(UserId, state, _time.GetUtcNow());
    }

    /// <summary>
    /// Timer callback: drops lapsed connections. Going offline is announced before the state is
    /// written, so a failed publish leaves the lapsed connections in place for the next tick to retry.
    /// </summary>
    public async Task SweepAsync()
    {
        var now = _time.GetUtcNow();
        var before = await LoadAsync(CancellationToken.None);
        var outcome = PresenceStateMachine.Sweep(before, now);
        var dropped = before.Connections.Count - outcome.State.Connections.Count;
        if (dropped == 0)
        {
            return; // the common tick: nothing lapsed, nothing to write
        }

        if (outcome.Flip is PresenceFlip.Offline)
        {
            try
            {
                await AnnounceOfflineAsync(now, CancellationToken.None);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                PresenceLog.ActorAnnounceFailed(Logger, exception, UserId);
                return;
            }

            PresenceLog.ActorSweptOffline(Logger, UserId);
        }

        _metrics.Swept(dropped);
        _metrics.Transition(outcome.Flip, "sweep");
        await StoreAsync(outcome.State, CancellationToken.None);
    }

    private async Task<PresenceState> LoadAsync(CancellationToken cancellationToken)
    {
        var stored = await StateManager.TryGetStateAsync<PresenceState>(StateName, cancellationToken);
        return stored.HasValue ? stored.Value : PresenceState.Empty;
    }

    private async Task StoreAsync(PresenceState state, CancellationToken cancellationToken)
    {
        await StateManager.SetStateAsync(StateName, state, cancellationToken);
        await SyncTimerAsync(state);
    }

    /// <summary>The sweep timer runs exactly while there are connections to sweep.</summary>
    private async Task SyncTimerAsync(PresenceState state)
    {
        if (state.Connections.Count > 0 && !_timerRegistered)
        {
            await RegisterTimerAsync(SweepTimerName, nameof(SweepAsync), [], _sweepInterval, _sweepInterval);
            _timerRegistered = true;
        }
        else if (state.Connections.Count == 0 && _timerRegistered)
        {
            await UnregisterTimerAsync(SweepTimerName);
            _timerRegistered = false;
        }
    }

    private Task AnnounceOfflineAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var change = new PresenceChanged(UserId, PresenceStatuses.Offline, now);
        var traceParent = EventBusTracing.CurrentTraceParent();
        return _bus.PublishAsync(
            new IntegrationEvent(Guid.CreateVersion7(now), Topics.PresenceChanged, nameof(PresenceChanged), change.UserId.ToString("D"),
                JsonSerializer.Serialize(change, ContractJson.Options), now, traceParent),
            cancellationToken);
    }
}
