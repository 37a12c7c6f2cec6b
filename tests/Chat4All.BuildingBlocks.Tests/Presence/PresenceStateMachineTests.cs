using Chat4All.BuildingBlocks.Presence;

namespace Chat4All.BuildingBlocks.Tests.Presence;

public sealed class PresenceStateMachineTests
{
    private static readonly PresenceStateMachine Machine = new(PresenceCases.Ttl);
    private static readonly DateTimeOffset Now = PresenceCases.Start;

    [Theory]
    [MemberData(nameof(PresenceCases.Names), MemberType = typeof(PresenceCases))]
    public Task StateMachineFollowsEverySharedCase(string name) => PresenceCases.RunAsync(name, new StateMachineDriver());

    [Fact]
    public void ConnectRegistersTheConnectionOnItsInstanceForOneTtl()
    {
        var outcome = Machine.Connect(PresenceState.Empty, "c1", "instance-a", 10, Now);

        Assert.Equal(new PresenceConnection("instance-a", Now + PresenceCases.Ttl), Assert.Single(outcome.State.Connections).Value);
        Assert.Equal(Now, outcome.State.LastSeenAt);
        Assert.Equal(PresenceFlip.Online, outcome.Flip);
    }

    [Fact]
    public void ReconnectingAConnectionIdMovesItToTheNewInstance()
    {
        var first = Machine.Connect(PresenceState.Empty, "c1", "instance-a", 10, Now).State;

        var moved = Machine.Connect(first, "c1", "instance-b", 10, Now.AddSeconds(5));

        Assert.Equal(new PresenceConnection("instance-b", Now.AddSeconds(5) + PresenceCases.Ttl), moved.State.Connections["c1"]);
        Assert.Equal(PresenceFlip.None, moved.Flip);
    }

    [Fact]
    public void RefusedConnectRegistersNothingButStillDropsLapsedConnections()
    {
        var state = Machine.Connect(PresenceState.Empty, "old", "i1", 2, Now).State;
        state = Machine.Connect(state, "c1", "i1", 2, Now.AddSeconds(60)).State;
        state = Machine.Connect(state, "c2", "i1", 2, Now.AddSeconds(100)).State; // "old" lapsed at 90 s

        var refused = Machine.Connect(state, "c3", "i1", 2, Now.AddSeconds(101));

        Assert.False(refused.Accepted);
        Assert.Equal(["c1", "c2"], refused.State.Connections.Keys.Order());
        Assert.Equal(Now.AddSeconds(100), refused.State.LastSeenAt);
    }

    [Fact]
    public void OperationsLeaveTheStateTheyWereGivenUntouched()
    {
        var state = Machine.Connect(PresenceState.Empty, "c1", "i1", 10, Now).State;

        Machine.Connect(state, "c2", "i1", 10, Now);
        Machine.Heartbeat(state, "i1", ["c1"], Now.AddSeconds(30));
        PresenceStateMachine.Disconnect(state, "c1", Now);
        PresenceStateMachine.Sweep(state, Now.AddHours(1));

        Assert.Equal(new PresenceConnection("i1", Now + PresenceCases.Ttl), Assert.Single(state.Connections).Value);
    }

    [Fact]
    public void UpdateCarriesTheStatusAndTheChangeStampedWithTheOperationTime()
    {
        var user = Guid.NewGuid();
        var online = Machine.Connect(PresenceState.Empty, "c1", "i1", 10, Now);
        var offline = PresenceStateMachine.Disconnect(online.State, "c1", Now.AddSeconds(7));

        Assert.Equal(new PresenceUpdate(true, new PresenceStatus(user, true, 1, Now), new PresenceChange(user, true, Now)), online.ToUpdate(user, Now));
        Assert.Equal(
            new PresenceUpdate(true, new PresenceStatus(user, false, 0, Now.AddSeconds(7)), new PresenceChange(user, false, Now.AddSeconds(7))),
            offline.ToUpdate(user, Now.AddSeconds(7)));
        Assert.Null(PresenceStateMachine.Sweep(online.State, Now).ToUpdate(user, Now).Change);
    }

    [Fact]
    public void EarliestExpiryIsWhenTheFirstConnectionLapses()
    {
        var state = Machine.Connect(PresenceState.Empty, "c1", "i1", 10, Now).State;
        state = Machine.Connect(state, "c2", "i1", 10, Now.AddSeconds(20)).State;

        Assert.Equal(Now + PresenceCases.Ttl, PresenceStateMachine.EarliestExpiry(state));
        Assert.Null(PresenceStateMachine.EarliestExpiry(PresenceState.Empty));
    }

    [Fact]
    public void ALimitBelowOneAndANonPositiveTtlAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Machine.Connect(PresenceState.Empty, "c1", "i1", 0, Now));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PresenceStateMachine(TimeSpan.Zero));
    }
}
