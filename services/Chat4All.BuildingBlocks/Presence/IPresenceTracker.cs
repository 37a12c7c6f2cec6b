namespace Chat4All.BuildingBlocks.Presence;

/// <summary>A user's presence as the cluster sees it.</summary>
public sealed record PresenceStatus(Guid UserId, bool Online, int Connections, DateTimeOffset? LastSeenAt);

/// <summary>A user went online or offline (what <c>presence.changed</c> announces).</summary>
public sealed record PresenceChange(Guid UserId, bool Online, DateTimeOffset At);

/// <summary>
/// The outcome of registering or removing a connection. <paramref name="Accepted"/> is false when a
/// connect would exceed the per-user connection limit (nothing was registered then).
/// <paramref name="Change"/> is set when the user flipped online or offline.
/// </summary>
public sealed record PresenceUpdate(bool Accepted, PresenceStatus Status, PresenceChange? Change);

/// <summary>
/// The presence port (docs/architecture.md §3): which users are online, with how many connections on which
/// instances, robust to instance crashes — a connection not refreshed by its instance's heartbeat
/// within the connection TTL expires. standalone: Redis (Lua for atomic transitions); dapr: one
/// <c>UserPresence</c> actor per user. Both share one presence state machine class.
/// </summary>
public interface IPresenceTracker
{
    /// <summary>Registers a connection unless the user already has <paramref name="maxConnections"/> live ones.</summary>
    Task<PresenceUpdate> ConnectAsync(Guid userId, string connectionId, string instanceId, int maxConnections, CancellationToken cancellationToken);

    /// <summary>Removes a connection (idempotent).</summary>
    Task<PresenceUpdate> DisconnectAsync(Guid userId, string connectionId, CancellationToken cancellationToken);

    /// <summary>Keeps these connections of <paramref name="instanceId"/> alive for another connection TTL.</summary>
    Task HeartbeatAsync(string instanceId, IReadOnlyCollection<(Guid UserId, string ConnectionId)> connections, CancellationToken cancellationToken);

    /// <summary>
    /// Removes expired connections (their instance died) and returns the users that went offline
    /// because of it. The dapr adapter's actors sweep themselves on a timer and announce their own
    /// changes, so there it returns nothing.
    /// </summary>
    Task<IReadOnlyList<PresenceChange>> SweepAsync(CancellationToken cancellationToken);

    /// <summary>Presence of each requested user (offline with no last-seen for users never seen).</summary>
    Task<IReadOnlyList<PresenceStatus>> GetAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken);
}
