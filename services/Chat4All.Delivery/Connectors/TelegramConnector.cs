using System.Text.RegularExpressions;
using Chat4All.Contracts;
using Chat4All.Delivery.Simulator;

namespace Chat4All.Delivery.Connectors;

/// <summary>
/// Telegram (simulated). Addresses are a <c>@username</c> (5–32 letters, digits or underscores,
/// starting with a letter and not ending with an underscore) or a numeric chat id (negative for groups).
/// </summary>
public sealed partial class TelegramConnector(ChannelSimulator simulator) : SimulatedChannelConnector(simulator)
{
    public override string Channel => Channels.Telegram;

    /// <summary>As the real provider: editMessageText and deleteMessage (the provider refuses a delete after 48 hours).</summary>
    public override ChannelChangeKinds SupportedChanges => ChannelChangeKinds.Edit | ChannelChangeKinds.Recall;

    public override bool IsValidAddress(string address) => address is not null && (Username().IsMatch(address) || ChatId().IsMatch(address));

    [GeneratedRegex(@"^@[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]\z")]
    private static partial Regex Username();

    [GeneratedRegex(@"^-?[1-9][0-9]{0,15}\z")]
    private static partial Regex ChatId();
}
