using System.Globalization;
using System.Threading.RateLimiting;
using Chat4All.Contracts;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Chat4All.ServiceDefaults.RateLimiting;

/// <summary>
/// A per-user fixed-window limiter whose counters live in Redis, so every instance draws from the
/// same budget. It plugs into ASP.NET Core's rate-limiting middleware as the global limiter: the
/// synchronous attempt never blocks on Redis (it answers "ask me asynchronously"), the asynchronous
/// acquire charges a <see cref="RedisFixedWindow"/>. See docs/adr/0004-redis-rate-limiting.md.
/// </summary>
internal sealed class RedisRateLimiter(RedisFixedWindow window, IOptionsMonitor<RateLimitingOptions> options) : PartitionedRateLimiter<HttpContext>
{
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
        if (await window.ChargeAsync(budgetName, userId, budget, cancellationToken) is not { } charge)
        {
            return Unlimited;
        }

        var resetSeconds = Math.Max(1, (long)Math.Ceiling(charge.ResetAfter.TotalSeconds));
        var remaining = Math.Max(0, budget.PermitLimit - charge.Count);

        // IETF draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it now.
        var headers = resource.Response.Headers;
        headers["RateLimit-Policy"] = string.Create(CultureInfo.InvariantCulture, $"\"{budgetName}\";q={budget.PermitLimit};w={windowSeconds}");
        headers["RateLimit"] = string.Create(CultureInfo.InvariantCulture, $"\"{budgetName}\";r={remaining};t={resetSeconds}");

        return charge.Admitted ? Unlimited : new Lease(false, new RejectedBy(budgetName, userId, TimeSpan.FromSeconds(resetSeconds)));
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
