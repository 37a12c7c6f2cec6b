using System.Text.RegularExpressions;
using Chat4All.Contracts;
using Chat4All.Delivery.Simulator;

namespace Chat4All.Delivery.Connectors;

/// <summary>Instagram (simulated). Addresses are handles: an optional <c>@</c>, then 1–30 letters, digits, dots or underscores.</summary>
public sealed partial class InstagramConnector(ChannelSimulator simulator) : SimulatedChannelConnector(simulator)
{
    public override string Channel => Channels.Instagram;

    /// <summary>As the real provider: unsend of the business's own message; no edit.</summary>
    public override ChannelChangeKinds SupportedChanges => ChannelChangeKinds.Recall;

    public override bool IsValidAddress(string address) => address is not null && Handle().IsMatch(address);

    [GeneratedRegex(@"^@?[A-Za-z0-9._]{1,30}\z")]
    private static partial Regex Handle();
}
