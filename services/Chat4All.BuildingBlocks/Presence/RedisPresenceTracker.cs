using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Presence;

/// <summary>
/// Standalone presence (docs/architecture.md §3): per user a hash <c>{prefix}:presence:{userId}</c> with one
/// field <c>c:{connectionId}</c> = <c>{instanceId}|{expiresAtMs}</c> per connection plus
/// <c>last_seen</c> = ms, and one sorted set <c>{prefix}:presence:expiries</c> of users scored by their
/// earliest connection expiry, so a sweep finds its work with a range query instead of a scan. Every
/// change runs in one Lua script (atomic per user) implementing <see cref="PresenceStateMachine"/>'s
/// rules; see docs/adr/0011-presence.md.
/// </summary>
internal sealed class RedisPresenceTracker(
    IConnectionMultiplexer redis,
    IOptions<PresenceOptions> options,
    TimeProvider time,
    PresenceMetrics metrics,
    ILogger<RedisPresenceTracker> logger) : IPresenceTracker
{
    /// <summary>Users swept per pipelined round; a sweep call handles at most <see cref="MaxSweepRounds"/> rounds.</summary>
    internal const int SweepBatch = 500;

    private const int MaxSweepRounds = 100;

    // KEYS[1] = the user's hash, KEYS[2] = the expiries set.
    // ARGV = op, user id, now ms, TTL ms, key retention ms, then per op:
    //   connect: connection id, instance id, max connections | disconnect: connection id
    //   heartbeat: instance id, connection ids... | sweep: nothing.
    // Returns {accepted 0|1, live connections, last seen ms or -1, flip 1 online | -1 offline | 0, dropped}.
    // The rules are PresenceStateMachine's; the shared cases in the tests hold both to them.
    private const string Script = """
        local op, user = ARGV[1], ARGV[2]
        local now, ttl, retention = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
        local function ms(n) return string.format('%.0f', n) end

        local conns, stored, lastSeen = {}, 0, -1
        local flat = redis.call('HGETALL', KEYS[1])
        for i = 1, #flat, 2 do
          if flat[i] == 'last_seen' then
            lastSeen = tonumber(flat[i + 1])
          else
            local instance, expires = string.match(flat[i + 1], '^(.*)|(%d+)$')
            conns[string.sub(flat[i], 3)] = { instance, tonumber(expires) }
            stored = stored + 1
          end
        end

        local function put(id, instance)
          conns[id] = { instance, now + ttl }
          redis.call('HSET', KEYS[1], 'c:' .. id, instance .. '|' .. ms(now + ttl))
        end

        -- Rule 4: a heartbeat only extends connections still registered to its instance.
        local accepted, live, flip, dropped = 1, stored, 0, 0
        if op == 'heartbeat' then
          for i = 7, #ARGV do
            local c = conns[ARGV[i]]
            if c and c[1] == ARGV[6] then put(ARGV[i], ARGV[6]) end
          end
        else
          -- Rule 1: drop lapsed connections first.
          for id, c in pairs(conns) do
            if c[2] <= now then
              conns[id] = nil
              redis.call('HDEL', KEYS[1], 'c:' .. id)
              live, dropped = live - 1, dropped + 1
            end
          end
          -- Rules 2 and 3.
          if op == 'connect' then
            local id = ARGV[6]
            if conns[id] or live < tonumber(ARGV[8]) then
              if not conns[id] then live = live + 1 end
              put(id, ARGV[7])
              lastSeen = now
              redis.call('HSET', KEYS[1], 'last_seen', ms(now))
            else
              accepted = 0
            end
          elseif op == 'disconnect' and conns[ARGV[6]] then
            conns[ARGV[6]] = nil
            redis.call('HDEL', KEYS[1], 'c:' .. ARGV[6])
            live = live - 1
          end
          -- Rule 5: flips compare with the stored count.
          if stored == 0 and live > 0 then
            flip = 1
          elseif stored > 0 and live == 0 then
            flip, lastSeen = -1, now
            redis.call('HSET', KEYS[1], 'last_seen', ms(now))
          end
        end

        local earliest = nil
        for _, c in pairs(conns) do
          if earliest == nil or c[2] < earliest then earliest = c[2] end
        end
        if earliest then
          redis.call('ZADD', KEYS[2], earliest, user)
        else
          redis.call('ZREM', KEYS[2], user)
        end
        redis.call('PEXPIRE', KEYS[1], retention)
        return { accepted, live, lastSeen, flip, dropped }
        """;

    public async Task<PresenceUpdate> ConnectAsync(Guid userId, string connectionId, string instanceId, int maxConnections, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        var now = time.GetUtcNow();
        var result = await RunAsync(redis.GetDatabase(), "connect", userId, now, [connectionId, instanceId, maxConnections], cancellationToken);
        if (!result.Accepted)
        {
            metrics.Refused();
        }

        metrics.Transition(result.Flip, "connect");
        return result.ToUpdate(userId, now);
    }

    public async Task<PresenceUpdate> DisconnectAsync(Guid userId, string connectionId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var result = await RunAsync(redis.GetDatabase(), "disconnect", userId, now, [connectionId], cancellationToken);
        metrics.Transition(result.Flip, "disconnect");
        return result.ToUpdate(userId, now);
    }

    public async Task HeartbeatAsync(string instanceId, IReadOnlyCollection<(Guid UserId, string ConnectionId)> connections, CancellationToken cancellationToken)
    {
        // One script call per user, all in flight at once: the multiplexer pipelines them.
        var db = redis.GetDatabase();
        var now = time.GetUtcNow();
        await Task.WhenAll(connections
            .GroupBy(c => c.UserId)
            .Select(user => RunAsync(db, "heartbeat", user.Key, now, [instanceId, .. user.Select(c => (RedisValue)c.ConnectionId)], cancellationToken)));
    }

    public async Task<IReadOnlyList<PresenceChange>> SweepAsync(CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var now = time.GetUtcNow();
        var expiries = ExpiriesKey(options.Value.KeyPrefix);
        var changes = new List<PresenceChange>();
        var dropped = 0;
        for (var round = 0; round < MaxSweepRounds; round++)
        {
            var due = await db.SortedSetRangeByScoreAsync(expiries, double.NegativeInfinity, now.ToUnixTimeMilliseconds(), take: SweepBatch)
                .WaitAsync(cancellationToken);
            var users = due.Select(u => Guid.Parse(u.ToString())).ToList();
            var results = await Task.WhenAll(users.Select(u => RunAsync(db, "sweep", u, now, [], cancellationToken)));
            for (var i = 0; i < users.Count; i++)
            {
                dropped += results[i].Dropped;
                metrics.Transition(results[i].Flip, "sweep");
                if (results[i].Flip is PresenceFlip.Offline)
                {
                    changes.Add(new PresenceChange(users[i], false, now));
                }
            }

            if (due.Length < SweepBatch)
            {
                break;
            }
        }

        metrics.Swept(dropped);
        if (dropped > 0)
        {
            PresenceLog.Swept(logger, dropped, changes.Count);
        }

        return changes;
    }

    public async Task<IReadOnlyList<PresenceStatus>> GetAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken)
    {
        var users = userIds.ToList();
        var prefix = options.Value.KeyPrefix;
        var batch = redis.GetDatabase().CreateBatch();
        var reads = users.Select(u => batch.HashGetAllAsync(UserKey(prefix, u))).ToList();
        batch.Execute();
        var hashes = await Task.WhenAll(reads).WaitAsync(cancellationToken);
        var now = time.GetUtcNow();
        return [.. users.Select((u, i) => PresenceStateMachine.StatusAt(u, ReadState(hashes[i]), now))];
    }

    internal static RedisKey UserKey(string prefix, Guid userId) => $"{prefix}:presence:{userId:D}";

    internal static RedisKey ExpiriesKey(string prefix) => $"{prefix}:presence:expiries";

    /// <summary>A user's hash as the state machine's state (the read side of the layout the script writes).</summary>
    internal static PresenceState ReadState(HashEntry[] hash)
    {
        var connections = new Dictionary<string, PresenceConnection>(StringComparer.Ordinal);
        DateTimeOffset? lastSeen = null;
        foreach (var entry in hash)
        {
            var field = entry.Name.ToString();
            var value = entry.Value.ToString();
            if (field == "last_seen")
            {
                lastSeen = FromMs(long.Parse(value, CultureInfo.InvariantCulture));
            }
            else if (field.StartsWith("c:", StringComparison.Ordinal))
            {
                var bar = value.LastIndexOf('|');
                connections[field[2..]] = new PresenceConnection(value[..bar], FromMs(long.Parse(value[(bar + 1)..], CultureInfo.InvariantCulture)));
            }
        }

        return new PresenceState(connections, lastSeen);
    }

    private async Task<ScriptResult> RunAsync(IDatabaseAsync db, string op, Guid userId, DateTimeOffset now, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        RedisValue[] values =
        [
            op, userId.ToString("D"), now.ToUnixTimeMilliseconds(), (long)settings.ConnectionTtl.TotalMilliseconds,
            (long)settings.LastSeenRetention.TotalMilliseconds, .. arguments,
        ];
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(Script, [UserKey(settings.KeyPrefix, userId), ExpiriesKey(settings.KeyPrefix)], values)
            .WaitAsync(cancellationToken))!;
        var lastSeen = (long)result[2];
        return new ScriptResult(
            (long)result[0] == 1,
            (int)result[1],
            lastSeen < 0 ? null : FromMs(lastSeen),
            (long)result[3] switch { 1 => PresenceFlip.Online, -1 => PresenceFlip.Offline, _ => PresenceFlip.None },
            (int)result[4]);
    }

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private sealed record ScriptResult(bool Accepted, int Live, DateTimeOffset? LastSeenAt, PresenceFlip Flip, int Dropped)
    {
        public PresenceUpdate ToUpdate(Guid userId, DateTimeOffset now) => new(
            Accepted,
            new PresenceStatus(userId, Live > 0, Live, LastSeenAt),
            Flip is PresenceFlip.None ? null : new PresenceChange(userId, Flip is PresenceFlip.Online, now));
    }
}
