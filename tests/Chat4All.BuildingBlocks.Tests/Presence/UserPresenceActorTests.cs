using System.Text.Json;
using Chat4All.BuildingBlocks.Presence;
using Chat4All.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace Chat4All.BuildingBlocks.Tests.Presence;

/// <summary>The dapr runtime's <c>UserPresence</c> actor through <c>ActorHost.CreateForTest</c> (docs/architecture.md §6).</summary>
public sealed class UserPresenceActorTests
{
    private static readonly DateTimeOffset Start = PresenceCases.Start;
    private readonly Guid _user = Guid.NewGuid();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly RecordingEventBus _bus = new();
    private readonly FakeActorStateManager _state = new();
    private readonly RecordingTimerManager _timers = new();

    private UserPresenceActor NewActivation() => PresenceTestKit.Actor(_user, _bus, _time, _state, _timers);

    [Theory]
    [MemberData(nameof(PresenceCases.Names), MemberType = typeof(PresenceCases))]
    public Task ActorFollowsEverySharedCaseLikeTheStateMachine(string name) => PresenceCases.RunAsync(name, new ActorDriver());

    [Fact]
    public async Task FirstConnectStartsTheSweepTimerAndLeavesTheAnnouncementToTheCaller()
    {
        var actor = NewActivation();

        var update = await actor.ConnectAsync(new PresenceConnectRequest("c1", "i1", 10), CancellationToken.None);
        await actor.ConnectAsync(new PresenceConnectRequest("c2", "i1", 10), CancellationToken.None);

        Assert.Equal(new PresenceChange(_user, true, Start), update.Change);
        var timer = Assert.Single(_timers.Active).Value;
        Assert.Equal((UserPresenceActor.SweepTimerName, nameof(UserPresenceActor.SweepAsync)), (timer.Name, timer.TimerCallback));
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)), (timer.DueTime, timer.Period)); // TTL / 3
        Assert.Equal(1, _timers.Registrations);
        Assert.Empty(_bus.Published);
    }

    [Fact]
    public async Task DisconnectingTheLastConnectionStopsTheTimerAndLeavesTheAnnouncementToTheCaller()
    {
        var actor = NewActivation();
        await actor.ConnectAsync(new PresenceConnectRequest("c1", "i1", 10), CancellationToken.None);
        await actor.ConnectAsync(new PresenceConnectRequest("c2", "i1", 10), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));

        await actor.DisconnectAsync(new PresenceDisconnectRequest("c1"), CancellationToken.None);
        Assert.Single(_timers.Active);
        var last = await actor.DisconnectAsync(new PresenceDisconnectRequest("c2"), CancellationToken.None);

        Assert.Equal(new PresenceUpdate(true, new PresenceStatus(_user, false, 0, Start.AddSeconds(5)), new PresenceChange(_user, false, Start.AddSeconds(5))), last);
        Assert.Empty(_timers.Active);
        Assert.Empty(_bus.Published);
    }

    [Fact]
    public async Task TimerSweepOfLapsedConnectionsPublishesPresenceChangedOfflineAndStopsTheTimer()
    {
        var actor = NewActivation();
        await actor.ConnectAsync(new PresenceConnectRequest("c1", "i1", 10), CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(120)); // the instance died: no heartbeat for 120 s
        await actor.SweepAsync();

        var published = Assert.Single(_bus.Published);
        var now = Start.AddSeconds(120);
        Assert.Equal((Topics.PresenceChanged, "PresenceChanged", _user.ToString("D"), now), (published.Topic, published.Type, published.PartitionKey, published.OccurredAt));
        using var data = JsonDocument.Parse(published.Data);
        Assert.Equal(_user, data.RootElement.GetProperty("user_id").GetGuid());
        Assert.Equal("offline", data.RootElement.GetProperty("status").GetString());
        Assert.Equal(now, data.RootElement.GetProperty("last_seen_at").GetDateTimeOffset());
        Assert.Empty(_timers.Active);
        Assert.Equal(new PresenceStatus(_user, false, 0, now), await actor.GetAsync(CancellationToken.None));
    }

    [Fact]
    public async Task TimerTickWithOnlyLiveConnectionsPublishesAndWritesNothing()
    {
        var actor = NewActivation();
        await actor.ConnectAsync(new PresenceConnectRequest("c1", "i1", 10), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(60));
        await actor.HeartbeatAsync(new PresenceHeartbeatRequest("i1", ["c1"]), CancellationToken.None);
        var writes = _state.Writes;

        _time.Advance(TimeSpan.FromSeconds(60));
        await actor.SweepAsync();

        Assert.Empty(_bus.Published);
        Assert.Equal(writes, _state.Writes);
        Assert.Single(_timers.Active);
    }

    [Fact]
    public async Task AFailedAnnouncementKeepsTheLapsedConnectionsForTheNextTickToRetry()
    {
        var actor = NewActivation();
        await actor.ConnectAsync(new PresenceConnectRequest("c1", "i1", 10), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(100));
        _bus.FailNext = true;

        await actor.SweepAsync();

        Assert.Empty(_bus.Published);
        Assert.Single(_timers.Active);
        Assert.Contains("c1", _state.Raw(UserPresenceActor.StateName), StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(30));
        await actor.SweepAsync();

        Assert.Equal(Start.AddSeconds(130), Assert.Single(_bus.Published).OccurredAt);
        Assert.Empty(_timers.Active);
    }

    [Fact]
    public async Task ANewActivationOfAUserWithConnectionsStartsTheTimerOnItsFirstCall()
    {
        await NewActivation().ConnectAsync(new PresenceConnectRequest("c1", "i1", 10), CancellationToken.None);
        // The actor moved (its host restarted): its state survives in the store, its timer did not.
        var reactivatedTimers = new RecordingTimerManager();
        var reactivated = PresenceTestKit.Actor(_user, _bus, _time, _state, reactivatedTimers);

        var status = await reactivated.GetAsync(CancellationToken.None);

        Assert.Equal(new PresenceStatus(_user, true, 1, Start), status);
        Assert.Equal(UserPresenceActor.SweepTimerName, Assert.Single(reactivatedTimers.Active).Key);
    }

    [Fact]
    public async Task StateIsKeptAsJsonInTheActorStore()
    {
        var actor = NewActivation();

        await actor.ConnectAsync(new PresenceConnectRequest("c1", "i1", 10), CancellationToken.None);

        using var stored = JsonDocument.Parse(_state.Raw(UserPresenceActor.StateName)!);
        var connection = stored.RootElement.GetProperty("connections").GetProperty("c1");
        Assert.Equal("i1", connection.GetProperty("instanceId").GetString());
        Assert.Equal(Start + PresenceCases.Ttl, connection.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal(Start, stored.RootElement.GetProperty("lastSeenAt").GetDateTimeOffset());
    }
}
