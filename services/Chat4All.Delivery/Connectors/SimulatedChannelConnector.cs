using Chat4All.Delivery.Simulator;
using Microsoft.AspNetCore.Http;

namespace Chat4All.Delivery.Connectors;

/// <summary>
/// A connector whose provider is the <see cref="ChannelSimulator"/>: a subclass names its channel
/// and address format, and sends, webhook signatures and payloads go to the simulator. A real
/// connector implements <see cref="IChannelConnector"/> itself in place of the subclass.
/// </summary>
public abstract class SimulatedChannelConnector(ChannelSimulator simulator) : IChannelConnector
{
    public abstract string Channel { get; }

    public abstract bool IsValidAddress(string address);

    /// <summary>A malformed address never reaches the provider: <c>Permanent("invalid_recipient")</c>.</summary>
    public Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        if (!string.Equals(message.Channel, Channel, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The {Channel} connector was given a message for '{message.Channel}'.", nameof(message));
        }

        return IsValidAddress(message.Address)
            ? simulator.SendAsync(message, cancellationToken)
            : Task.FromResult<SendResult>(new SendResult.Permanent("invalid_recipient"));
    }

    public abstract ChannelChangeKinds SupportedChanges { get; }

    public Task<SendResult> ChangeAsync(OutboundChange change, CancellationToken cancellationToken)
    {
        if (!string.Equals(change.Channel, Channel, StringComparison.Ordinal) || change.Kind == ChannelChangeKinds.None
            || (SupportedChanges & change.Kind) != change.Kind)
        {
            throw new ArgumentException($"The {Channel} connector cannot make a {change.Kind} change on '{change.Channel}'.", nameof(change));
        }

        return simulator.ChangeAsync(change, cancellationToken);
    }

    public WebhookVerification VerifyWebhook(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now) =>
        simulator.VerifyWebhook(Channel, headers, body, now);

    public IReadOnlyList<ChannelCallback> ParseWebhook(ReadOnlySpan<byte> body) => SimulatedWebhook.Parse(body);
}
