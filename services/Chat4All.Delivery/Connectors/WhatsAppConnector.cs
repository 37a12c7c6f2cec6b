using System.Text.RegularExpressions;
using Chat4All.Contracts;
using Chat4All.Delivery.Simulator;

namespace Chat4All.Delivery.Connectors;

/// <summary>WhatsApp (simulated). Addresses are E.164 phone numbers: <c>+</c>, then 7–15 digits not starting with 0.</summary>
public sealed partial class WhatsAppConnector(ChannelSimulator simulator) : SimulatedChannelConnector(simulator)
{
    public override string Channel => Channels.WhatsApp;

    /// <summary>As the real provider: an edit within about 15 minutes and "delete for everyone" within about 2 days, as the WhatsApp app allows (the provider enforces the windows).</summary>
    public override ChannelChangeKinds SupportedChanges => ChannelChangeKinds.Edit | ChannelChangeKinds.Recall;

    public override bool IsValidAddress(string address) => address is not null && E164().IsMatch(address);

    // [0-9] and \z rather than \d and $: \d takes any Unicode digit and $ a trailing newline.
    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}\z")]
    private static partial Regex E164();
}
