using Chat4All.BuildingBlocks.Presence;

namespace Chat4All.BuildingBlocks.Tests.Presence;

public enum StepKind
{
    Connect,
    Disconnect,
    Heartbeat,
    Sweep,
    Read,
}

/// <summary>
/// One step of a presence case, at <see cref="At"/> seconds after <see cref="PresenceCases.Start"/>,
/// and what every implementation must answer: whether a connect was accepted, the flip, and the
/// status a read reports right after it.
/// </summary>
public sealed record PresenceStep(int At, StepKind Kind, string Connection = "", string Instance = "i1", int Max = 3, string[]? Heartbeat = null)
{
    public bool Accepted { get; init; } = true;

    public PresenceFlip Flip { get; init; }

    public int Live { get; init; }

    public int? LastSeen { get; init; }

    public PresenceStep Then(PresenceFlip flip, int live, int? lastSeen, bool accepted = true) =>
        this with { Flip = flip, Live = live, LastSeen = lastSeen, Accepted = accepted };

    public override string ToString() => $"{Kind} {Connection}{string.Join(',', Heartbeat ?? [])}@{Instance} at {At}s";
}

/// <summary>One implementation of the presence rules, driven step by step (each at its own time).</summary>
public interface IPresenceDriver
{
    Task<(bool Accepted, PresenceFlip Flip)> ConnectAsync(string connectionId, string instanceId, int maxConnections, DateTimeOffset at);

    Task<PresenceFlip> DisconnectAsync(string connectionId, DateTimeOffset at);

    Task HeartbeatAsync(string instanceId, string[] connectionIds, DateTimeOffset at);

    Task<PresenceFlip> SweepAsync(DateTimeOffset at);

    Task<PresenceStatus> ReadAsync(DateTimeOffset at);
}

/// <summary>
/// The presence rules as cases, shared by the C# state machine, the Redis Lua script and the actor,
/// so the three cannot drift apart. The connection TTL is <see cref="Ttl"/> (90 s) throughout.
/// </summary>
public static class PresenceCases
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(90);

    public static readonly DateTimeOffset Start = new(2026, 11, 25, 9, 30, 0, TimeSpan.Zero);

    private const PresenceFlip None = PresenceFlip.None;
    private const PresenceFlip Online = PresenceFlip.Online;
    private const PresenceFlip Offline = PresenceFlip.Offline;

    public static readonly IReadOnlyDictionary<string, PresenceStep[]> All = new Dictionary<string, PresenceStep[]>
    {
        ["first connection goes online"] = [Connect(0, "c1").Then(Online, 1, 0)],
        ["second connection is no transition"] = [Connect(0, "c1").Then(Online, 1, 0), Connect(5, "c2").Then(None, 2, 5)],
        ["last disconnect goes offline with last seen"] =
        [
            Connect(0, "c1").Then(Online, 1, 0), Connect(1, "c2").Then(None, 2, 1),
            Disconnect(2, "c1").Then(None, 1, 1), Disconnect(3, "c2").Then(Offline, 0, 3),
        ],
        ["connect beyond the limit is refused"] =
        [
            Connect(0, "c1", max: 2).Then(Online, 1, 0), Connect(1, "c2", max: 2).Then(None, 2, 1),
            Connect(2, "c3", max: 2).Then(None, 2, 1, accepted: false),
        ],
        ["duplicate connect refreshes and is no transition"] =
        [
            Connect(0, "c1").Then(Online, 1, 0), Connect(60, "c1").Then(None, 1, 60),
            Sweep(120).Then(None, 1, 60), Sweep(151).Then(Offline, 0, 151),
        ],
        ["duplicate connect at the limit is accepted"] = [Connect(0, "c1", max: 1).Then(Online, 1, 0), Connect(10, "c1", max: 1).Then(None, 1, 10)],
        ["heartbeat keeps a connection alive"] =
        [
            Connect(0, "c1").Then(Online, 1, 0), Heartbeat(60, "i1", "c1").Then(None, 1, 0),
            Sweep(100).Then(None, 1, 0), Sweep(151).Then(Offline, 0, 151),
        ],
        ["heartbeat from another instance extends nothing"] =
        [
            Connect(0, "c1", "i1").Then(Online, 1, 0), Heartbeat(60, "i2", "c1").Then(None, 1, 0), Sweep(91).Then(Offline, 0, 91),
        ],
        ["heartbeat never registers a connection"] = [Heartbeat(0, "i1", "c9").Then(None, 0, null), Sweep(1).Then(None, 0, null)],
        ["heartbeat revives a lapsed connection no sweep has dropped yet"] =
        [
            Connect(0, "c1").Then(Online, 1, 0), Read(95).Then(None, 0, 0), Heartbeat(95, "i1", "c1").Then(None, 1, 0), Sweep(100).Then(None, 1, 0),
        ],
        ["lapsed connections do not count toward the limit"] =
        [
            Connect(0, "c1", max: 1).Then(Online, 1, 0), Connect(100, "c2", max: 1).Then(None, 1, 100),
        ],
        ["disconnecting an unknown connection changes nothing"] = [Disconnect(0, "c1").Then(None, 0, null)],
        ["a lapsed connection disconnected before any sweep goes offline at the disconnect"] =
        [
            Connect(0, "c1").Then(Online, 1, 0), Disconnect(200, "c1").Then(Offline, 0, 200),
        ],
        ["sweep drops only lapsed connections"] =
        [
            Connect(0, "c1", "i1").Then(Online, 1, 0), Connect(50, "c2", "i2").Then(None, 2, 50), Heartbeat(80, "i2", "c2").Then(None, 2, 50),
            Sweep(100).Then(None, 1, 50), Sweep(171).Then(Offline, 0, 171),
        ],
        ["reconnecting after going offline is a new online"] =
        [
            Connect(0, "c1").Then(Online, 1, 0), Disconnect(10, "c1").Then(Offline, 0, 10), Connect(20, "c2").Then(Online, 1, 20),
        ],
        ["reads count only unexpired connections"] = [Connect(0, "c1").Then(Online, 1, 0), Read(95).Then(None, 0, 0), Sweep(96).Then(Offline, 0, 96)],
        ["a connection lapses exactly at its expiry"] = [Connect(0, "c1").Then(Online, 1, 0), Read(89).Then(None, 1, 0), Sweep(90).Then(Offline, 0, 90)],
    };

    public static TheoryData<string> Names => [.. All.Keys];

    public static DateTimeOffset At(int seconds) => Start.AddSeconds(seconds);

    /// <summary>Runs a case against <paramref name="driver"/>, failing at the first step that answers differently.</summary>
    public static async Task RunAsync(string name, IPresenceDriver driver)
    {
        var steps = All[name];
        for (var i = 0; i < steps.Length; i++)
        {
            var step = steps[i];
            var at = At(step.At);
            var (accepted, flip) = step.Kind switch
            {
                StepKind.Connect => await driver.ConnectAsync(step.Connection, step.Instance, step.Max, at),
                StepKind.Disconnect => (true, await driver.DisconnectAsync(step.Connection, at)),
                StepKind.Heartbeat => await HeartbeatAsync(driver, step, at),
                StepKind.Sweep => (true, await driver.SweepAsync(at)),
                _ => (true, PresenceFlip.None),
            };
            var status = await driver.ReadAsync(at);
            var where = $"'{name}' step {i + 1} ({step})";
            Assert.True(step.Accepted == accepted, $"{where}: accepted {accepted}, expected {step.Accepted}");
            Assert.True(step.Flip == flip, $"{where}: flip {flip}, expected {step.Flip}");
            Assert.True(step.Live == status.Connections, $"{where}: {status.Connections} live connections, expected {step.Live}");
            Assert.True((step.Live > 0) == status.Online, $"{where}: online {status.Online}");
            var lastSeen = step.LastSeen is { } s ? At(s) : (DateTimeOffset?)null;
            Assert.True(lastSeen == status.LastSeenAt, $"{where}: last seen {status.LastSeenAt:O}, expected {lastSeen:O}");
        }
    }

    private static async Task<(bool, PresenceFlip)> HeartbeatAsync(IPresenceDriver driver, PresenceStep step, DateTimeOffset at)
    {
        await driver.HeartbeatAsync(step.Instance, step.Heartbeat!, at);
        return (true, PresenceFlip.None);
    }

    private static PresenceStep Connect(int at, string connection, string instance = "i1", int max = 3) => new(at, StepKind.Connect, connection, instance, max);

    private static PresenceStep Disconnect(int at, string connection) => new(at, StepKind.Disconnect, connection);

    private static PresenceStep Heartbeat(int at, string instance, params string[] connections) => new(at, StepKind.Heartbeat, Instance: instance, Heartbeat: connections);

    private static PresenceStep Sweep(int at) => new(at, StepKind.Sweep);

    private static PresenceStep Read(int at) => new(at, StepKind.Read);
}

/// <summary>The C# state machine on its own, holding the state in memory.</summary>
public sealed class StateMachineDriver : IPresenceDriver
{
    private readonly PresenceStateMachine _machine = new(PresenceCases.Ttl);
    private readonly Guid _user = Guid.NewGuid();

    public PresenceState State { get; private set; } = PresenceState.Empty;

    public Task<(bool Accepted, PresenceFlip Flip)> ConnectAsync(string connectionId, string instanceId, int maxConnections, DateTimeOffset at)
    {
        var outcome = _machine.Connect(State, connectionId, instanceId, maxConnections, at);
        State = outcome.State;
        return Task.FromResult((outcome.Accepted, outcome.Flip));
    }

    public Task<PresenceFlip> DisconnectAsync(string connectionId, DateTimeOffset at) => Apply(PresenceStateMachine.Disconnect(State, connectionId, at));

    public Task HeartbeatAsync(string instanceId, string[] connectionIds, DateTimeOffset at)
    {
        State = _machine.Heartbeat(State, instanceId, connectionIds, at);
        return Task.CompletedTask;
    }

    public Task<PresenceFlip> SweepAsync(DateTimeOffset at) => Apply(PresenceStateMachine.Sweep(State, at));

    public Task<PresenceStatus> ReadAsync(DateTimeOffset at) => Task.FromResult(PresenceStateMachine.StatusAt(_user, State, at));

    private Task<PresenceFlip> Apply(PresenceOutcome outcome)
    {
        State = outcome.State;
        return Task.FromResult(outcome.Flip);
    }
}
