using StackExchange.Redis;

namespace Chat4All.BuildingBlocks.Redis;

/// <summary>
/// Where Redis pub/sub goes. Under Sentinel a node that was master comes back as a replica, and
/// StackExchange.Redis may place a PUBLISH or a (re)subscription on it while its replication link is
/// still down: a PUBLISH on a replica never reaches the master's subscribers, and a subscription
/// there hears nothing until the link is up. Every publish and subscribe of the platform (realtime
/// fan-out, event-bus wake-ups, revoked users) therefore demands the primary.
/// </summary>
public static class RedisPubSub
{
    public const CommandFlags OnPrimary = CommandFlags.DemandMaster;
}
