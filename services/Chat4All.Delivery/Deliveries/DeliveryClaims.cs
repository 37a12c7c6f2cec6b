using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Delivery.Deliveries;

/// <summary>
/// Who is attempting a delivery right now: a Redis lease per delivery (<c>SET NX PX</c>), so two
/// instances never call a provider for the same delivery at once, and a killed instance's leases
/// expire by themselves. Kept out of the record on purpose: in the dapr runtime every record write
/// is published as a status event, and a claim is not news. A batch of deliveries is claimed, and
/// released, in one script call each: one round trip per batch rather than two per delivery.
/// </summary>
public sealed class DeliveryClaims(IConnectionMultiplexer redis, IOptions<BuildingBlocks.EventBus.EventBusOptions> busOptions)
{
    // One flag per key, in order: 1 if this owner now holds the lease, 0 if someone else does.
    private const string AcquireScript = """
        local taken = {}
        for i, key in ipairs(KEYS) do
          taken[i] = redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
        end
        return taken
        """;

    // Deletes each lease only if it is still ours: it may have expired and been taken by another instance.
    private const string ReleaseScript = """
        local released = 0
        for _, key in ipairs(KEYS) do
          if redis.call('GET', key) == ARGV[1] then released = released + redis.call('DEL', key) end
        end
        return released
        """;

    private readonly string _prefix = busOptions.Value.KeyPrefix + ":delivery:claim:";

    /// <summary>Which of <paramref name="deliveryKeys"/> this owner now holds, in the same order.</summary>
    public async Task<bool[]> TryAcquireAsync(IReadOnlyList<string> deliveryKeys, string owner, TimeSpan duration)
    {
        if (deliveryKeys.Count == 0)
        {
            return [];
        }

        var taken = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(AcquireScript, Keys(deliveryKeys),
            [owner, (long)duration.TotalMilliseconds]))!;
        return Array.ConvertAll(taken, flag => (long)flag == 1);
    }

    public async Task ReleaseAsync(IReadOnlyList<string> deliveryKeys, string owner)
    {
        if (deliveryKeys.Count > 0)
        {
            await redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, Keys(deliveryKeys), [owner]);
        }
    }

    private RedisKey[] Keys(IReadOnlyList<string> deliveryKeys)
    {
        var keys = new RedisKey[deliveryKeys.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = _prefix + deliveryKeys[i];
        }

        return keys;
    }
}
