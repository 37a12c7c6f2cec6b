using System.Diagnostics.Metrics;

namespace Chat4All.BuildingBlocks.Presence;

/// <summary>
/// Presence instruments (meter <c>Chat4All.Presence</c>, picked up by the <c>Chat4All.*</c> telemetry
/// wildcard), the same for both adapters so dashboards do not depend on the runtime.
/// </summary>
public sealed class PresenceMetrics
{
    public const string MeterName = "Chat4All.Presence";

    private readonly Counter<long> _transitions;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _swept;

    public PresenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _transitions = meter.CreateCounter<long>("chat4all.presence.transitions", description: "Users going online or offline, by cause");
        _refused = meter.CreateCounter<long>("chat4all.presence.refused", description: "Connects refused because the user had the maximum of live connections");
        _swept = meter.CreateCounter<long>("chat4all.presence.swept", description: "Connections dropped because their instance stopped heartbeating");
    }

    /// <summary>Counts <paramref name="flip"/> (if any) as caused by <paramref name="cause"/> (connect, disconnect, sweep).</summary>
    public void Transition(PresenceFlip flip, string cause)
    {
        if (flip is not PresenceFlip.None)
        {
            _transitions.Add(1, new("status", flip is PresenceFlip.Online ? "online" : "offline"), new("cause", cause));
        }
    }

    public void Refused() => _refused.Add(1);

    public void Swept(int connections)
    {
        if (connections > 0)
        {
            _swept.Add(connections);
        }
    }
}
