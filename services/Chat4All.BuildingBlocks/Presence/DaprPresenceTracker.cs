using Chat4All.Contracts;
using Dapr.Actors;
using Dapr.Actors.Client;

namespace Chat4All.BuildingBlocks.Presence;

/// <summary>
/// Dapr presence (docs/architecture.md §3): every call goes to the user's <c>UserPresence</c> actor through the
/// sidecar (actor id = user id), weakly typed so the request and answer are plain JSON. The actors
/// sweep themselves on a timer and announce their own offline flips, so <see cref="SweepAsync"/> has
/// nothing to do here.
/// </summary>
internal sealed class DaprPresenceTracker(IActorProxyFactory proxies, PresenceMetrics metrics) : IPresenceTracker
{
    /// <summary>Actor calls in flight at once for heartbeats and reads of many users.</summary>
    internal const int Parallelism = 64;

    public async Task<PresenceUpdate> ConnectAsync(Guid userId, string connectionId, string instanceId, int maxConnections, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        var update = await Actor(userId).InvokeMethodAsync<PresenceConnectRequest, PresenceUpdate>(
            nameof(IUserPresenceActor.ConnectAsync), new PresenceConnectRequest(connectionId, instanceId, maxConnections), cancellationToken);
        if (!update.Accepted)
        {
            metrics.Refused();
        }

        metrics.Transition(FlipOf(update), "connect");
        return update;
    }

    public async Task<PresenceUpdate> DisconnectAsync(Guid userId, string connectionId, CancellationToken cancellationToken)
    {
        var update = await Actor(userId).InvokeMethodAsync<PresenceDisconnectRequest, PresenceUpdate>(
            nameof(IUserPresenceActor.DisconnectAsync), new PresenceDisconnectRequest(connectionId), cancellationToken);
        metrics.Transition(FlipOf(update), "disconnect");
        return update;
    }

    public Task HeartbeatAsync(string instanceId, IReadOnlyCollection<(Guid UserId, string ConnectionId)> connections, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(
            connections.GroupBy(c => c.UserId),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (user, ct) => await Actor(user.Key).InvokeMethodAsync(
                nameof(IUserPresenceActor.HeartbeatAsync), new PresenceHeartbeatRequest(instanceId, [.. user.Select(c => c.ConnectionId)]), ct));

    public Task<IReadOnlyList<PresenceChange>> SweepAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<PresenceChange>>([]);

    public async Task<IReadOnlyList<PresenceStatus>> GetAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken)
    {
        var users = userIds.ToList();
        var statuses = new PresenceStatus[users.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, users.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (i, ct) => statuses[i] = await Actor(users[i]).InvokeMethodAsync<PresenceStatus>(nameof(IUserPresenceActor.GetAsync), ct));
        return statuses;
    }

    private ActorProxy Actor(Guid userId) => proxies.Create(new ActorId(userId.ToString("D")), Actors.UserPresence);

    private static PresenceFlip FlipOf(PresenceUpdate update) => update.Change switch
    {
        null => PresenceFlip.None,
        { Online: true } => PresenceFlip.Online,
        _ => PresenceFlip.Offline,
    };
}
