using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat4All.ServiceDefaults.RateLimiting;

/// <summary>What one fixed-window charge answered: admitted or not, the count so far and when the window resets.</summary>
internal sealed record WindowCharge(bool Admitted, long Count, TimeSpan ResetAfter);

/// <summary>
/// One fixed-window counter per key in Redis, charged by one atomic Lua script, shared by every
/// instance. Both the per-user limiter and the credential-endpoint throttle count with it
/// (docs/adr/0004, docs/adr/0024).
/// </summary>
internal sealed partial class RedisFixedWindow(IConnectionMultiplexer redis, ILogger<RedisFixedWindow> logger)
{
    // Counts only admitted requests; the window starts at the first one and the key expires with it.
    private static readonly LuaScript Script = LuaScript.Prepare("""
        local current = tonumber(redis.call('GET', @key) or '0')
        if current >= tonumber(@limit) then
          return {0, current, redis.call('PTTL', @key)}
        end
        current = redis.call('INCR', @key)
        if current == 1 then
          redis.call('PEXPIRE', @key, @windowMs)
        end
        return {1, current, redis.call('PTTL', @key)}
        """);

    /// <summary>Charges one request to <paramref name="key"/>; null when Redis is unreachable (callers fail open).</summary>
    public async Task<WindowCharge?> ChargeAsync(string budgetName, string key, RateLimitBudget budget, CancellationToken cancellationToken)
    {
        try
        {
            var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(Script, new
            {
                key = (RedisKey)$"chat4all:ratelimit:{budgetName}:{key}",
                limit = budget.PermitLimit,
                windowMs = (long)budget.Window.TotalMilliseconds,
            }).WaitAsync(cancellationToken))!;
            return new WindowCharge((int)result[0] == 1, (long)result[1], TimeSpan.FromMilliseconds(Math.Max(0, (long)result[2])));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Fail open: a Redis outage must not take the API down with it; /ready reports it.
            LogRedisUnavailable(logger, ex, budgetName);
            return null;
        }
    }

    [LoggerMessage(EventId = 5100, Level = LogLevel.Warning, Message = "Redis unavailable; request admitted without rate limit {Budget}")]
    private static partial void LogRedisUnavailable(ILogger logger, Exception exception, string budget);
}
