using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Delivery.Deliveries;

/// <summary>
/// Who is attempting a delivery right now: a Redis lease per delivery (<c>SET NX PX</c>), so two
/// instances never call a provider for the same delivery at once, and a killed instance's leases
/// expire by themselves. Kept out of the record on purpose: in the dapr runtime every record write
/// is published as a status event, and a claim is not news.
/// </summary>
public sealed class DeliveryClaims(IConnectionMultiplexer redis, IOptions<BuildingBlocks.EventBus.EventBusOptions> busOptions)
{
    // Deletes the lease only if it is still ours: it may have expired and been taken by another instance.
    private static readonly LuaScript Release = LuaScript.Prepare(
        "if redis.call('GET', @key) == @owner then return redis.call('DEL', @key) else return 0 end");

    private readonly string _prefix = busOptions.Value.KeyPrefix + ":delivery:claim:";

    public Task<bool> TryAcquireAsync(string deliveryKey, string owner, TimeSpan duration) =>
        redis.GetDatabase().StringSetAsync(_prefix + deliveryKey, owner, duration, When.NotExists);

    public Task ReleaseAsync(string deliveryKey, string owner) =>
        redis.GetDatabase().ScriptEvaluateAsync(Release, new { key = (RedisKey)(_prefix + deliveryKey), owner = (RedisValue)owner });
}
