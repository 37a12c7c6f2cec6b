using System.Text.RegularExpressions;
using Chat4All.Contracts;
using Chat4All.Delivery.Simulator;

namespace Chat4All.Delivery.Connectors;

/// <summary>SMS (simulated). Addresses are E.164 phone numbers: <c>+</c>, then 7–15 digits not starting with 0.</summary>
public sealed partial class SmsConnector(ChannelSimulator simulator) : SimulatedChannelConnector(simulator)
{
    public override string Channel => Channels.Sms;

    /// <summary>As the real provider: a text message cannot be changed once sent.</summary>
    public override ChannelChangeKinds SupportedChanges => ChannelChangeKinds.None;

    public override bool IsValidAddress(string address) => address is not null && E164().IsMatch(address);

    // [0-9] and \z rather than \d and $: \d takes any Unicode digit and $ a trailing newline.
    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}\z")]
    private static partial Regex E164();
}
