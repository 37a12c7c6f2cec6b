using System.Collections.Concurrent;
using System.Globalization;
using Chat4All.BuildingBlocks.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Chat4All.ServiceDefaults.Auth;

/// <summary>
/// The users whose tokens issued before a point in time are refused: disabled or deleted users.
/// Kept in a Redis hash (user id → revoked-before, unix seconds) shared by every instance; each
/// instance holds a copy in memory so the check costs a dictionary lookup per request, updated at
/// once through a Redis channel and reloaded every few seconds in case a message was missed.
/// Entries outlive the longest access token and are then pruned. See docs/adr/0024.
/// </summary>
public sealed partial class RevokedUsers(IConnectionMultiplexer redis, TimeProvider time, ILogger<RevokedUsers> logger) : BackgroundService
{
    public const string HashKey = "chat4all:auth:revoked-users";
    public const string Channel = "chat4all:auth:revocations";

    /// <summary>How often the whole set is re-read, bounding how long a missed message can matter.</summary>
    public static readonly TimeSpan ReloadInterval = TimeSpan.FromSeconds(5);

    /// <summary>Longer than any access token lives (identity allows at most one day).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(1) + TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<Guid, long> _revokedBefore = new();

    /// <summary>Raised on this instance for every user newly revoked (realtime closes their sockets).</summary>
    public event Action<Guid>? Revoked;

    /// <summary>True when a token of <paramref name="userId"/> issued at <paramref name="issuedAt"/> must be refused.</summary>
    public bool IsRevoked(Guid userId, DateTimeOffset? issuedAt) =>
        _revokedBefore.TryGetValue(userId, out var before) && (issuedAt?.ToUnixTimeSeconds() ?? long.MinValue) < before;

    /// <summary>The cut-off for <paramref name="userId"/>'s tokens, if it has one.</summary>
    public DateTimeOffset? RevokedBefore(Guid userId) =>
        _revokedBefore.TryGetValue(userId, out var before) ? DateTimeOffset.FromUnixTimeSeconds(before) : null;

    /// <summary>
    /// Refuses every token of the user issued up to now. Tokens carry whole seconds, so the cut-off is
    /// the next whole second; returns it so a re-enable can wait until new tokens fall after it.
    /// </summary>
    public async Task<DateTimeOffset> RevokeAsync(Guid userId, CancellationToken cancellationToken)
    {
        var before = time.GetUtcNow().ToUnixTimeSeconds() + 1;
        var database = redis.GetDatabase();
        await database.HashSetAsync(HashKey, userId.ToString(), before).WaitAsync(cancellationToken);
        await database.PublishAsync(RedisChannel.Literal(Channel), $"{userId}:{before}", RedisPubSub.OnPrimary).WaitAsync(cancellationToken);
        Apply(userId, before);
        return DateTimeOffset.FromUnixTimeSeconds(before);
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribe before the first load so that nothing revoked in between is missed.
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Channel), (_, message) =>
        {
            var parts = message.ToString().Split(':');
            if (parts.Length == 2 && Guid.TryParse(parts[0], out var userId) &&
                long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var before))
            {
                Apply(userId, before);
            }
        }, RedisPubSub.OnPrimary);
        await ReloadAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ReloadInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await ReloadAsync(stoppingToken);
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var entries = await redis.GetDatabase().HashGetAllAsync(HashKey).WaitAsync(cancellationToken);
            var expired = time.GetUtcNow().Subtract(Retention).ToUnixTimeSeconds();
            var stale = new List<RedisValue>();
            foreach (var entry in entries)
            {
                if (!Guid.TryParse(entry.Name.ToString(), out var userId) || !entry.Value.TryParse(out long before))
                {
                    continue;
                }

                if (before < expired)
                {
                    stale.Add(entry.Name);
                    _revokedBefore.TryRemove(userId, out _);
                }
                else
                {
                    Apply(userId, before);
                }
            }

            if (stale.Count > 0)
            {
                await redis.GetDatabase().HashDeleteAsync(HashKey, [.. stale]).WaitAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Keep the last copy: it still refuses everyone revoked so far; /ready reports Redis.
            LogReloadFailed(logger, ex);
        }
    }

    private void Apply(Guid userId, long before)
    {
        var previous = 0L;
        _revokedBefore.AddOrUpdate(userId, before, (_, current) => { previous = current; return Math.Max(current, before); });
        if (before > previous)
        {
            Revoked?.Invoke(userId);
        }
    }

    [LoggerMessage(EventId = 5110, Level = LogLevel.Warning, Message = "Could not reload the revoked-users set from Redis; keeping the last copy")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);
}
