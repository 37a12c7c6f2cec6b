using System.Globalization;
using System.Threading.RateLimiting;
using Chat4All.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.ServiceDefaults.RateLimiting;

/// <summary>
/// A per-user fixed-window limiter whose counters live in Redis, so every instance draws from the
/// same budget. It plugs into ASP.NET Core's rate-limiting middleware as the global limiter: the
/// synchronous attempt never blocks on Redis (it answers "ask me asynchronously"), the asynchronous
/// acquire runs one atomic Lua script. See docs/adr/0004-redis-rate-limiting.md.
/// </summary>
internal sealed partial class RedisRateLimiter(
    IConnectionMultiplexer redis,
    IOptionsMonitor<RateLimitingOptions> options,
    ILogger<RedisRateLimiter> logger) : PartitionedRateLimiter<HttpContext>
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

    private static readonly RateLimitLease Unlimited = new Lease(true, null);
    private static readonly RateLimitLease AskAsynchronously = new Lease(false, null);

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) =>
        Classify(resource) is null ? Unlimited : AskAsynchronously;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken)
    {
        if (Classify(resource) is not { } target)
        {
            return Unlimited;
        }

        var (budgetName, budget, userId) = target;
        var windowSeconds = (long)Math.Ceiling(budget.Window.TotalSeconds);
        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(Script, new
            {
                key = (RedisKey)$"chat4all:ratelimit:{budgetName}:{userId}",
                limit = budget.PermitLimit,
                windowMs = (long)budget.Window.TotalMilliseconds,
            }).WaitAsync(cancellationToken))!;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Fail open: a Redis outage must not take the API down with it; /ready reports it.
            LogRedisUnavailable(logger, ex, budgetName);
            return Unlimited;
        }

        var admitted = (int)result[0] == 1;
        var count = (long)result[1];
        var resetSeconds = Math.Max(1, (long)Math.Ceiling((long)result[2] / 1000.0));
        var remaining = Math.Max(0, budget.PermitLimit - count);

        // IETF draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it now.
        var headers = resource.Response.Headers;
        headers["RateLimit-Policy"] = string.Create(CultureInfo.InvariantCulture, $"\"{budgetName}\";q={budget.PermitLimit};w={windowSeconds}");
        headers["RateLimit"] = string.Create(CultureInfo.InvariantCulture, $"\"{budgetName}\";r={remaining};t={resetSeconds}");

        return admitted ? Unlimited : new Lease(false, new RejectedBy(budgetName, userId, TimeSpan.FromSeconds(resetSeconds)));
    }

    private (string Name, RateLimitBudget Budget, string UserId)? Classify(HttpContext context)
    {
        var current = options.CurrentValue;
        if (!current.Enabled || HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) ||
            HttpMethods.IsOptions(context.Request.Method))
        {
            return null;
        }

        var userId = context.User.FindFirst(ChatClaims.Subject)?.Value;
        if (string.IsNullOrEmpty(userId))
        {
            return null;
        }

        var name = context.GetEndpoint()?.Metadata.GetMetadata<RateLimitBudgetMetadata>()?.Budget ?? RateLimitingOptions.DefaultBudget;
        return current.Budgets.TryGetValue(name, out var budget) ? (name, budget, userId) : null;
    }

    [LoggerMessage(EventId = 5100, Level = LogLevel.Warning, Message = "Redis unavailable; request admitted without rate limit {Budget}")]
    private static partial void LogRedisUnavailable(ILogger logger, Exception exception, string budget);

    internal sealed record RejectedBy(string Budget, string UserId, TimeSpan RetryAfter);

    private sealed class Lease(bool isAcquired, RejectedBy? rejection) : RateLimitLease
    {
        public override bool IsAcquired => isAcquired;

        public override IEnumerable<string> MetadataNames => rejection is null ? [] : [MetadataName.RetryAfter.Name, nameof(RejectedBy)];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = rejection is null ? null
                : metadataName == MetadataName.RetryAfter.Name ? rejection.RetryAfter
                : metadataName == nameof(RejectedBy) ? rejection
                : null;
            return metadata is not null;
        }
    }
}
