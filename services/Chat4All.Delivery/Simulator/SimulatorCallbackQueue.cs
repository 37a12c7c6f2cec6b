using System.Text.Json;
using Chat4All.BuildingBlocks.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// The webhooks the simulated providers owe, in one Redis sorted set (<see cref="SimulatorKeys.Callbacks"/>)
/// so they survive restarts and any instance can send them. Claiming re-scores due members to the
/// claim's expiry in one script, so each is taken by one instance; a claimer that dies leaves its
/// members to become due again when the claim expires (at-least-once, deduped by webhook id).
/// </summary>
internal sealed class SimulatorCallbackQueue(IConnectionMultiplexer redis, IOptions<ChannelSimulatorOptions> options, ILogger<SimulatorCallbackQueue> logger)
{
    // Returns the claimed members and, last, the score of the earliest member left (or nothing), so
    // an idle dispatcher can sleep until exactly then instead of polling.
    private const string ClaimScript = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        for _, member in ipairs(due) do
          redis.call('ZADD', KEYS[1], 'XX', ARGV[3], member)
        end
        local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return {due, next[2] or false}
        """;

    // Only the member we claimed is replaced: if it is gone, someone else already settled it.
    private const string RescheduleScript = """
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
          redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
          return 1
        end
        return 0
        """;

    private readonly string _key = SimulatorKeys.Callbacks(options.Value.KeyPrefix);

    public string Key => _key;

    /// <summary>Notified whenever this process adds webhooks, so the dispatcher need not poll for them.</summary>
    public WakeSignal Added { get; } = new();

    public async Task ScheduleAsync(PendingWebhook webhook, DateTimeOffset due)
    {
        await redis.GetDatabase().SortedSetAddAsync(_key, webhook.ToJson(), due.ToUnixTimeMilliseconds());
        Added.Notify();
    }

    /// <summary>
    /// Takes up to <paramref name="limit"/> webhooks due at <paramref name="now"/>, hidden from other
    /// claimers until <paramref name="claimUntil"/>; also says when the earliest webhook left is due (null: none).
    /// </summary>
    public async Task<(IReadOnlyList<ClaimedWebhook> Claimed, DateTimeOffset? NextDueAt)> ClaimAsync(DateTimeOffset now, int limit, DateTimeOffset claimUntil)
    {
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(ClaimScript, [_key],
            [now.ToUnixTimeMilliseconds(), limit, claimUntil.ToUnixTimeMilliseconds()]))!;
        DateTimeOffset? nextDueAt = result[1].IsNull ? null
            : DateTimeOffset.FromUnixTimeMilliseconds((long)double.Parse((string)result[1]!, System.Globalization.CultureInfo.InvariantCulture));
        var claimed = new List<ClaimedWebhook>();
        foreach (var member in (RedisValue[])result[0]!)
        {
            try
            {
                claimed.Add(new ClaimedWebhook(member!, PendingWebhook.FromJson(member!)));
            }
            catch (Exception ex) when (ex is JsonException or FormatException)
            {
                // Not written by this simulator (or by an incompatible version): it can never be sent.
                SimulatorLog.UnreadableWebhookDiscarded(logger, ex, _key);
                await redis.GetDatabase().SortedSetRemoveAsync(_key, member);
            }
        }

        return (claimed, nextDueAt);
    }

    /// <summary>The webhooks were delivered (or dropped): they leave the queue, in one call.</summary>
    public Task CompleteAsync(IReadOnlyList<ClaimedWebhook> claimed) =>
        redis.GetDatabase().SortedSetRemoveAsync(_key, [.. claimed.Select(c => (RedisValue)c.Member)]);

    /// <summary>Puts the webhook back as its next attempt, due at <paramref name="due"/>.</summary>
    public Task RescheduleAsync(ClaimedWebhook claimed, DateTimeOffset due) =>
        redis.GetDatabase().ScriptEvaluateAsync(RescheduleScript, [_key],
            [claimed.Member, (claimed.Webhook with { Attempt = claimed.Webhook.Attempt + 1 }).ToJson(), due.ToUnixTimeMilliseconds()]);

    /// <summary>Gives a claimed webhook back unsent (shutting down): due again at once.</summary>
    public Task ReleaseAsync(ClaimedWebhook claimed, DateTimeOffset now) =>
        redis.GetDatabase().SortedSetAddAsync(_key, claimed.Member, now.ToUnixTimeMilliseconds(), SortedSetWhen.Exists);

    public Task<long> CountAsync() => redis.GetDatabase().SortedSetLengthAsync(_key);
}

/// <summary>A webhook taken from the queue, with the exact member it was stored as (needed to settle it).</summary>
internal sealed record ClaimedWebhook(string Member, PendingWebhook Webhook);
