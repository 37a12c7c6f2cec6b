using System.Diagnostics;
using Chat4All.BuildingBlocks.Presence;
using Chat4All.BuildingBlocks.Tests.EventBus;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Tests.Presence;

/// <summary>The standalone adapter against a real Redis, under a key prefix unique to each test.</summary>
public sealed class RedisPresenceTrackerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = PresenceCases.Start;
    private readonly FakeTimeProvider _time = new(Start);
    private RedisScope _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisScope.CreateAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    private RedisPresenceTracker Tracker() => PresenceTestKit.Redis(_redis.Connection, _redis.Prefix, _time);

    [Theory]
    [MemberData(nameof(PresenceCases.Names), MemberType = typeof(PresenceCases))]
    public Task TheLuaScriptFollowsEverySharedCaseLikeTheStateMachine(string name) =>
        PresenceCases.RunAsync(name, new RedisDriver(_redis.Connection, _redis.Prefix)); // a fresh prefix per case

    [Fact]
    public async Task FirstConnectionPutsTheUserOnlineAndIsStoredInTheDocumentedKeys()
    {
        var user = Guid.NewGuid();

        var update = await Tracker().ConnectAsync(user, "conn-1", "instance|a", 10, CancellationToken.None);

        Assert.Equal(new PresenceUpdate(true, new PresenceStatus(user, true, 1, Start), new PresenceChange(user, true, Start)), update);
        var hash = (await _redis.Database.HashGetAllAsync($"{_redis.Prefix}:presence:{user}")).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
        var expires = (Start + PresenceCases.Ttl).ToUnixTimeMilliseconds();
        Assert.Equal(new Dictionary<string, string>
        {
            ["c:conn-1"] = $"instance|a|{expires}",
            ["last_seen"] = Start.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, hash);
        Assert.Equal(expires, await _redis.Database.SortedSetScoreAsync($"{_redis.Prefix}:presence:expiries", user.ToString()));
        var ttl = await _redis.Database.KeyTimeToLiveAsync($"{_redis.Prefix}:presence:{user}");
        Assert.InRange(ttl!.Value, TimeSpan.FromDays(30) - TimeSpan.FromMinutes(1), TimeSpan.FromDays(30));
    }

    [Fact]
    public async Task SecondConnectionCountsButIsNoTransition()
    {
        var user = Guid.NewGuid();
        var tracker = Tracker();
        await tracker.ConnectAsync(user, "c1", "i1", 10, CancellationToken.None);

        var second = await tracker.ConnectAsync(user, "c2", "i2", 10, CancellationToken.None);

        Assert.True(second.Accepted);
        Assert.Null(second.Change);
        Assert.Equal(2, second.Status.Connections);
    }

    [Fact]
    public async Task DisconnectingTheLastConnectionPutsTheUserOfflineWithLastSeen()
    {
        var user = Guid.NewGuid();
        var tracker = Tracker();
        await tracker.ConnectAsync(user, "c1", "i1", 10, CancellationToken.None);
        await tracker.ConnectAsync(user, "c2", "i1", 10, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(42));

        var first = await tracker.DisconnectAsync(user, "c1", CancellationToken.None);
        var last = await tracker.DisconnectAsync(user, "c2", CancellationToken.None);
        var again = await tracker.DisconnectAsync(user, "c2", CancellationToken.None);

        Assert.Null(first.Change);
        Assert.Equal(new PresenceChange(user, false, Start.AddSeconds(42)), last.Change);
        Assert.Equal(new PresenceStatus(user, false, 0, Start.AddSeconds(42)), last.Status);
        Assert.Equal(new PresenceUpdate(true, last.Status, null), again);
        Assert.Null(await _redis.Database.SortedSetScoreAsync($"{_redis.Prefix}:presence:expiries", user.ToString()));
    }

    [Fact]
    public async Task EleventhConnectionIsRefusedWhenTheLimitIsTen()
    {
        var user = Guid.NewGuid();
        var tracker = Tracker();
        for (var i = 0; i < 10; i++)
        {
            Assert.True((await tracker.ConnectAsync(user, $"c{i}", "i1", 10, CancellationToken.None)).Accepted);
        }

        var eleventh = await tracker.ConnectAsync(user, "c10", "i1", 10, CancellationToken.None);

        Assert.Equal(new PresenceUpdate(false, new PresenceStatus(user, true, 10, Start), null), eleventh);
        Assert.False(await _redis.Database.HashExistsAsync($"{_redis.Prefix}:presence:{user}", "c:c10"));
    }

    [Fact]
    public async Task ConnectingTheSameConnectionTwiceIsIdempotent()
    {
        var user = Guid.NewGuid();
        var tracker = Tracker();
        await tracker.ConnectAsync(user, "c1", "i1", 1, CancellationToken.None);

        var again = await tracker.ConnectAsync(user, "c1", "i1", 1, CancellationToken.None);

        Assert.Equal(new PresenceUpdate(true, new PresenceStatus(user, true, 1, Start), null), again);
    }

    [Fact]
    public async Task OneHeartbeatCallKeepsTenThousandConnectionsAlive()
    {
        var tracker = Tracker();
        var connections = Enumerable.Range(0, 2_500).Select(_ => Guid.NewGuid())
            .SelectMany(user => Enumerable.Range(0, 4).Select(i => (UserId: user, ConnectionId: $"{user:N}-{i}")))
            .ToList();
        await Task.WhenAll(connections.Select(c => tracker.ConnectAsync(c.UserId, c.ConnectionId, "i1", 10, CancellationToken.None)));

        _time.Advance(TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        await tracker.HeartbeatAsync("i1", connections, CancellationToken.None);
        clock.Stop();
        _time.Advance(TimeSpan.FromSeconds(60)); // past the first expiry, within the refreshed one

        Assert.Empty(await tracker.SweepAsync(CancellationToken.None));
        var statuses = await tracker.GetAsync([.. connections.Select(c => c.UserId).Distinct()], CancellationToken.None);
        Assert.Equal(2_500, statuses.Count);
        Assert.All(statuses, s => Assert.Equal(4, s.Connections));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Heartbeat of 10,000 connections took {clock.Elapsed}.");
    }

    [Fact]
    public async Task AnInstanceThatStopsHeartbeatingHasItsConnectionsSweptAndItsUsersGoOffline()
    {
        var (onlyOnDead, onBoth, onlyOnLive) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var tracker = Tracker();
        await tracker.ConnectAsync(onlyOnDead, "a1", "dead", 10, CancellationToken.None);
        await tracker.ConnectAsync(onBoth, "b1", "dead", 10, CancellationToken.None);
        await tracker.ConnectAsync(onBoth, "b2", "live", 10, CancellationToken.None);
        await tracker.ConnectAsync(onlyOnLive, "c1", "live", 10, CancellationToken.None);

        for (var tick = 1; tick <= 4; tick++)
        {
            _time.Advance(TimeSpan.FromSeconds(30));
            await tracker.HeartbeatAsync("live", [(onBoth, "b2"), (onlyOnLive, "c1")], CancellationToken.None);
            var swept = await tracker.SweepAsync(CancellationToken.None);
            // The dead instance's connections lapse at 90 s; the sweep at that instant drops them.
            Assert.Equal(tick == 3 ? [new PresenceChange(onlyOnDead, false, Start.AddSeconds(90))] : [], swept);
        }

        Assert.Equal(
            [new PresenceStatus(onlyOnDead, false, 0, Start.AddSeconds(90)), new PresenceStatus(onBoth, true, 1, Start), new PresenceStatus(onlyOnLive, true, 1, Start)],
            await tracker.GetAsync([onlyOnDead, onBoth, onlyOnLive], CancellationToken.None));
        Assert.False(await _redis.Database.HashExistsAsync($"{_redis.Prefix}:presence:{onBoth}", "c:b1"));
    }

    [Fact]
    public async Task GetReadsManyUsersInRequestOrderAndTreatsLapsedConnectionsAsGone()
    {
        var tracker = Tracker();
        var users = Enumerable.Range(0, 1_000).Select(_ => Guid.NewGuid()).ToList();
        await Task.WhenAll(users.Take(300).Select(u => tracker.ConnectAsync(u, "early", "i1", 10, CancellationToken.None)));
        _time.Advance(TimeSpan.FromSeconds(60));
        await Task.WhenAll(users.Skip(300).Take(300).Select(u => tracker.ConnectAsync(u, "late", "i1", 10, CancellationToken.None)));
        _time.Advance(TimeSpan.FromSeconds(40)); // the early connections lapsed, unswept

        var statuses = await tracker.GetAsync(users, CancellationToken.None);

        Assert.Equal(users, statuses.Select(s => s.UserId));
        Assert.All(statuses.Take(300), s => Assert.Equal(new PresenceStatus(s.UserId, false, 0, Start), s));
        Assert.All(statuses.Skip(300).Take(300), s => Assert.Equal(new PresenceStatus(s.UserId, true, 1, Start.AddSeconds(60)), s));
        Assert.All(statuses.Skip(600), s => Assert.Equal(new PresenceStatus(s.UserId, false, 0, null), s));
    }

    [Fact]
    public async Task ASweepGoesThroughMoreUsersThanOneBatch()
    {
        var tracker = Tracker();
        var users = Enumerable.Range(0, RedisPresenceTracker.SweepBatch * 2 + 17).Select(_ => Guid.NewGuid()).ToList();
        await Task.WhenAll(users.Select(u => tracker.ConnectAsync(u, "c", "i1", 10, CancellationToken.None)));
        _time.Advance(TimeSpan.FromMinutes(5));

        var swept = await tracker.SweepAsync(CancellationToken.None);

        Assert.Equal(users.Order(), swept.Select(c => c.UserId).Order());
        Assert.Equal(0, await _redis.Database.SortedSetLengthAsync($"{_redis.Prefix}:presence:expiries"));
    }

    [Fact]
    public async Task ConcurrentSweepsOnSeveralInstancesAnnounceEachOfflineUserOnce()
    {
        var users = Enumerable.Range(0, 300).Select(_ => Guid.NewGuid()).ToList();
        await Task.WhenAll(users.Select(u => Tracker().ConnectAsync(u, "c", "i1", 10, CancellationToken.None)));
        _time.Advance(TimeSpan.FromMinutes(5));

        var sweeps = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Tracker().SweepAsync(CancellationToken.None)));

        Assert.Equal(users.Order(), sweeps.SelectMany(s => s).Select(c => c.UserId).Order());
    }

    [Fact]
    public async Task TransitionsUseEvalShaOnceTheScriptIsKnown()
    {
        // SE.Redis sends EVAL once per server and EVALSHA afterwards; check the server sees EVALSHA.
        var user = Guid.NewGuid();
        var tracker = Tracker();
        await tracker.ConnectAsync(user, "c1", "i1", 10, CancellationToken.None);
        var before = await EvalShaCallsAsync();

        for (var i = 0; i < 20; i++)
        {
            await tracker.ConnectAsync(user, "c1", "i1", 10, CancellationToken.None);
        }

        Assert.True(await EvalShaCallsAsync() - before >= 20);
    }

    private async Task<long> EvalShaCallsAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g).FirstOrDefault(p => p.Key == "cmdstat_evalsha").Value;
        return stats is null ? 0 : long.Parse(stats.Split(',')[0].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
