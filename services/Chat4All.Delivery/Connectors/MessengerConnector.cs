using System.Text.RegularExpressions;
using Chat4All.Contracts;
using Chat4All.Delivery.Simulator;

namespace Chat4All.Delivery.Connectors;

/// <summary>Facebook Messenger (simulated). Addresses are page-scoped ids (PSID): 10–20 digits.</summary>
public sealed partial class MessengerConnector(ChannelSimulator simulator) : SimulatedChannelConnector(simulator)
{
    public override string Channel => Channels.Messenger;

    /// <summary>As the real provider: the Send API neither edits nor deletes a sent message.</summary>
    public override ChannelChangeKinds SupportedChanges => ChannelChangeKinds.None;

    public override bool IsValidAddress(string address) => address is not null && PageScopedId().IsMatch(address);

    [GeneratedRegex(@"^[0-9]{10,20}\z")]
    private static partial Regex PageScopedId();
}
