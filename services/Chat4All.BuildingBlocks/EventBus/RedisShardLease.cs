using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Exclusive ownership of one (group, topic, shard): <c>SET key owner NX PX</c>. Renewal and release
/// compare the owner first (Lua, atomic) so an instance whose lease already passed to another can
/// never extend or delete the new owner's lease.
/// </summary>
internal sealed class RedisShardLease(IConnectionMultiplexer redis, string key, string owner, TimeSpan duration)
{
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    public Task<bool> TryAcquireAsync() => redis.GetDatabase().StringSetAsync(key, owner, duration, When.NotExists);

    /// <summary>False when the lease is no longer ours (it expired, and maybe another instance took it).</summary>
    public async Task<bool> RenewAsync() =>
        (long)await redis.GetDatabase().ScriptEvaluateAsync(RenewScript, [key], [owner, (long)duration.TotalMilliseconds]) == 1;

    public async Task ReleaseAsync() => await redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [key], [owner]);
}
