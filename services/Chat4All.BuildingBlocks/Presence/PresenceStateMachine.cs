namespace Chat4All.BuildingBlocks.Presence;

/// <summary>One registered connection: the instance holding its socket, and when it lapses unless refreshed.</summary>
public sealed record PresenceConnection(string InstanceId, DateTimeOffset ExpiresAt);

/// <summary>
/// A user's stored presence: the registered connections by connection id (a lapsed one stays until an
/// operation or a sweep drops it) and when the user was last seen (latest connect, or going offline).
/// </summary>
public sealed record PresenceState(IReadOnlyDictionary<string, PresenceConnection> Connections, DateTimeOffset? LastSeenAt)
{
    public static PresenceState Empty { get; } = new(new Dictionary<string, PresenceConnection>(StringComparer.Ordinal), null);
}

/// <summary>Which way a user flipped, if at all.</summary>
public enum PresenceFlip
{
    None,
    Online,
    Offline,
}

/// <summary>The result of one presence operation: the state to store, whether a connect was accepted, the flip.</summary>
public sealed record PresenceOutcome(PresenceState State, bool Accepted, PresenceFlip Flip)
{
    /// <summary>The port's view of this outcome for <paramref name="userId"/>, the change stamped <paramref name="now"/>.</summary>
    public PresenceUpdate ToUpdate(Guid userId, DateTimeOffset now) => new(
        Accepted,
        PresenceStateMachine.StatusAt(userId, State, now),
        Flip is PresenceFlip.None ? null : new PresenceChange(userId, Flip is PresenceFlip.Online, now));
}

/// <summary>
/// The presence rules, once for both adapters (docs/architecture.md §3; the Redis adapter's Lua mirrors them
/// and a shared test set holds both to the same answers, see docs/adr/0011-presence.md):
/// <list type="number">
/// <item>Connect, disconnect and sweep first drop the connections whose expiry is at or before now.</item>
/// <item>Connect registers the connection (or refreshes it, when its id is already registered) to
/// expire one TTL from now, unless a new id would exceed the live-connection limit; an accepted connect
/// sets last-seen to now.</item>
/// <item>Disconnect removes the connection; removing an unknown one changes nothing.</item>
/// <item>Heartbeat only extends the named connections still registered to the heartbeating instance:
/// it never adds or removes one, so it never flips the user.</item>
/// <item>The user flips online when the stored connection count goes from zero to more, offline when
/// it goes to zero; going offline sets last-seen to now.</item>
/// <item>Reads count only unexpired connections.</item>
/// </list>
/// Flips compare with what was stored, not with what was live: a connection that lapsed and was
/// replaced before any sweep noticed never produced an offline, so its replacement is no online either.
/// </summary>
public sealed class PresenceStateMachine(TimeSpan connectionTtl)
{
    public TimeSpan ConnectionTtl { get; } = connectionTtl > TimeSpan.Zero
        ? connectionTtl
        : throw new ArgumentOutOfRangeException(nameof(connectionTtl), connectionTtl, "The connection TTL must be positive.");

    public PresenceOutcome Connect(PresenceState state, string connectionId, string instanceId, int maxConnections, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        var live = Live(state, now);
        if (!live.ContainsKey(connectionId) && live.Count >= maxConnections)
        {
            return Settle(state, live, state.LastSeenAt, accepted: false, now);
        }

        live[connectionId] = new PresenceConnection(instanceId, now + ConnectionTtl);
        return Settle(state, live, now, accepted: true, now);
    }

    public static PresenceOutcome Disconnect(PresenceState state, string connectionId, DateTimeOffset now)
    {
        var live = Live(state, now);
        live.Remove(connectionId);
        return Settle(state, live, state.LastSeenAt, accepted: true, now);
    }

    public PresenceState Heartbeat(PresenceState state, string instanceId, IEnumerable<string> connectionIds, DateTimeOffset now)
    {
        var connections = new Dictionary<string, PresenceConnection>(state.Connections, StringComparer.Ordinal);
        foreach (var connectionId in connectionIds)
        {
            if (connections.TryGetValue(connectionId, out var connection) && connection.InstanceId == instanceId)
            {
                connections[connectionId] = connection with { ExpiresAt = now + ConnectionTtl };
            }
        }

        return state with { Connections = connections };
    }

    public static PresenceOutcome Sweep(PresenceState state, DateTimeOffset now) => Settle(state, Live(state, now), state.LastSeenAt, accepted: true, now);

    /// <summary>What a read reports: only unexpired connections count.</summary>
    public static PresenceStatus StatusAt(Guid userId, PresenceState state, DateTimeOffset now)
    {
        var live = state.Connections.Values.Count(c => c.ExpiresAt > now);
        return new PresenceStatus(userId, live > 0, live, state.LastSeenAt);
    }

    /// <summary>When the first registered connection lapses (null without any): when a sweep has work.</summary>
    public static DateTimeOffset? EarliestExpiry(PresenceState state) =>
        state.Connections.Count == 0 ? null : state.Connections.Values.Min(c => c.ExpiresAt);

    private static Dictionary<string, PresenceConnection> Live(PresenceState state, DateTimeOffset now) =>
        state.Connections.Where(c => c.Value.ExpiresAt > now).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);

    private static PresenceOutcome Settle(PresenceState before, Dictionary<string, PresenceConnection> after, DateTimeOffset? lastSeenAt, bool accepted, DateTimeOffset now)
    {
        var flip = (before.Connections.Count > 0, after.Count > 0) switch
        {
            (false, true) => PresenceFlip.Online,
            (true, false) => PresenceFlip.Offline,
            _ => PresenceFlip.None,
        };
        return new PresenceOutcome(new PresenceState(after, flip is PresenceFlip.Offline ? now : lastSeenAt), accepted, flip);
    }
}
