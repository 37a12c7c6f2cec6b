using Chat4All.BuildingBlocks.Hosting;
using Chat4All.BuildingBlocks.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// Standalone consumer host: one background service running every <see cref="EventSubscription"/>
/// of the process. Each subscription's shards are spread over the group's live instances, each
/// shard processed by exactly one of them at a time (see <see cref="RedisShardCoordinator"/>).
/// </summary>
internal sealed class RedisStreamsConsumer(
    IServiceProvider services,
    IOptions<EventBusOptions> options,
    IOptions<Chat4AllOptions> chat4all,
    TimeProvider time,
    ILogger<RedisStreamsConsumer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriptions = services.GetServices<EventSubscription>().ToList();
        if (chat4all.Value.Runtime is not Chat4AllRuntime.Standalone || subscriptions.Count == 0)
        {
            return; // in the dapr runtime the sidecar delivers over HTTP instead
        }

        // Resolved here, not injected: a host with nothing to consume (or in the dapr runtime) then
        // never opens a Redis connection on this service's account.
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        var dispatcher = services.GetRequiredService<IntegrationEventDispatcher>();
        var metrics = services.GetRequiredService<EventBusMetrics>();
        var wakeups = services.GetRequiredService<StreamWakeups>();

        // Other instances' publishes wake this one's idle shards (best effort: polling remains).
        var subscriber = redis.GetSubscriber();
        var channel = StreamWakeups.Channel(options.Value.KeyPrefix);
        try
        {
            await subscriber.SubscribeAsync(channel, (_, stream) => wakeups.Notify(stream.ToString()), RedisPubSub.OnPrimary);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            EventBusLog.WakeupsUnavailable(logger, ex);
        }

        // The random suffix keeps two hosts that share a consumer name (two in one test process, or
        // a misconfiguration) from ever both believing they own a shard.
        var owner = $"{options.Value.ConsumerName}/{Guid.NewGuid():N}";
        var context = new RedisConsumerContext(redis, dispatcher, metrics, options.Value, time, logger, owner, wakeups);
        try
        {
            await Task.WhenAll(subscriptions.Select(s => new RedisShardCoordinator(s, context).RunAsync(stoppingToken)));
        }
        finally
        {
            await subscriber.UnsubscribeAsync(channel).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}

/// <summary>
/// Keeps this instance's share of one subscription's shards. Every LeaseDuration/3 it renews the
/// leases it holds (a worker whose lease is gone is cancelled), heartbeats into the group's member
/// set, hands back shards above its fair share (ceil(shards / live instances)) and takes free
/// shards up to it. Correctness rests only on the leases; the fair share just spreads the load.
/// </summary>
internal sealed class RedisShardCoordinator(EventSubscription subscription, RedisConsumerContext context)
{
    private readonly Dictionary<int, RedisShardWorker> _workers = [];

    // Instances start their search for free shards at different places, so they rarely collide.
    private readonly int _firstShard = Random.Shared.Next(context.Options.Shards);

    private EventBusOptions Options => context.Options;

    private string MembersKey => RedisStreamKeys.Members(Options.KeyPrefix, subscription.ConsumerGroup, subscription.Topic);

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var tick = Options.LeaseDuration / 3;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await TickAsync();
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    EventBusLog.CoordinatorRedisUnavailable(context.Logger, ex, subscription.Topic, subscription.ConsumerGroup);
                    StopWorkersWhoseLeaseMayHaveExpired();
                }
                catch (ObjectDisposedException)
                {
                    break; // the connection was disposed: the host is being torn down
                }

                try
                {
                    await Task.Delay(tick, context.Time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            // Graceful: handlers in flight finish, then each worker releases its lease, and leaving
            // the member set lets the other instances take the shards over at their next tick.
            foreach (var worker in _workers.Values)
            {
                worker.Stop();
            }

            await Task.WhenAll(_workers.Values.Select(w => w.Completion)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (var worker in _workers.Values)
            {
                worker.Dispose();
            }

            await LeaveAsync();
        }
    }

    private async Task TickAsync()
    {
        var now = context.Time.GetUtcNow();
        ReapFinishedWorkers();

        foreach (var worker in _workers.Values.Where(w => !w.IsLeaseLost && !w.Completion.IsCompleted))
        {
            if (await worker.Lease.RenewAsync())
            {
                worker.LeaseConfirmedAt = now;
            }
            else
            {
                EventBusLog.ShardLeaseLost(context.Logger, worker.Shard, subscription.Topic, subscription.ConsumerGroup);
                worker.LeaseLost();
            }
        }

        var fairShare = await HeartbeatAsync(now);
        var active = _workers.Values.Where(w => !w.Stopping).OrderBy(w => w.Shard).ToList();
        foreach (var surplus in active.Skip(fairShare))
        {
            EventBusLog.ShardHandedBack(context.Logger, surplus.Shard, subscription.Topic, subscription.ConsumerGroup, active.Count, fairShare);
            surplus.Stop();
        }

        var wanted = fairShare - Math.Min(active.Count, fairShare);
        for (var i = 0; i < Options.Shards && wanted > 0; i++)
        {
            var shard = (_firstShard + i) % Options.Shards;
            if (_workers.ContainsKey(shard))
            {
                continue;
            }

            var lease = new RedisShardLease(context.Redis,
                RedisStreamKeys.Lease(Options.KeyPrefix, subscription.ConsumerGroup, subscription.Topic, shard), context.LeaseOwner, Options.LeaseDuration);
            if (!await lease.TryAcquireAsync())
            {
                continue;
            }

            var worker = new RedisShardWorker(subscription, shard, lease, context) { LeaseConfirmedAt = now };
            _workers[shard] = worker;
            worker.Start();
            wanted--;
            EventBusLog.ShardAcquired(context.Logger, shard, subscription.Topic, subscription.ConsumerGroup, context.LeaseOwner);
        }
    }

    /// <summary>Records this instance as alive and returns its fair share of the shards.</summary>
    private async Task<int> HeartbeatAsync(DateTimeOffset now)
    {
        var db = context.Redis.GetDatabase();
        var nowMs = now.ToUnixTimeMilliseconds();
        await db.SortedSetAddAsync(MembersKey, context.LeaseOwner, nowMs);
        await db.SortedSetRemoveRangeByScoreAsync(MembersKey, double.NegativeInfinity, nowMs - Options.LeaseDuration.TotalMilliseconds);
        var members = await db.SortedSetLengthAsync(MembersKey);
        await db.KeyExpireAsync(MembersKey, Options.LeaseDuration * 4);
        return (int)Math.Ceiling(Options.Shards / (double)Math.Max(1, members));
    }

    private void ReapFinishedWorkers()
    {
        foreach (var worker in _workers.Values.Where(w => w.Completion.IsCompleted).ToList())
        {
            if (worker.Completion.Exception is { } failure)
            {
                EventBusLog.ShardWorkerFailed(context.Logger, failure.GetBaseException(), worker.Shard, subscription.Topic, subscription.ConsumerGroup);
            }

            _workers.Remove(worker.Shard);
            worker.Dispose();
        }
    }

    // Without Redis we cannot renew; past the lease duration another instance may own the shard.
    private void StopWorkersWhoseLeaseMayHaveExpired()
    {
        var now = context.Time.GetUtcNow();
        foreach (var worker in _workers.Values.Where(w => !w.IsLeaseLost && now - w.LeaseConfirmedAt >= Options.LeaseDuration))
        {
            EventBusLog.ShardLeaseLost(context.Logger, worker.Shard, subscription.Topic, subscription.ConsumerGroup);
            worker.LeaseLost();
        }
    }

    private async Task LeaveAsync()
    {
        try
        {
            await context.Redis.GetDatabase().SortedSetRemoveAsync(MembersKey, context.LeaseOwner);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            // The heartbeat ages out by itself.
        }
    }
}
