using Chat4All.Contracts.Events;
using Microsoft.AspNetCore.Http;

namespace Chat4All.Delivery.Connectors;

/// <summary>
/// One message to one address on one channel. <paramref name="DeliveryId"/> is the idempotency key
/// a connector passes to its provider: sending the same delivery again (a retry, or a redelivery
/// after a crash) must not produce a second message at the provider.
/// </summary>
public sealed record OutboundMessage(
    Guid DeliveryId,
    int Attempt,
    string Channel,
    string Address,
    Guid MessageId,
    Guid ConversationId,
    Guid SenderId,
    MessagePayload Payload);

/// <summary>What a provider answered to a send.</summary>
public abstract record SendResult
{
    private SendResult()
    {
    }

    /// <summary>The provider took the message; delivery/read reports follow through the webhook.</summary>
    public sealed record Accepted(string ProviderMessageId) : SendResult;

    /// <summary>Worth retrying (timeout, 429, 5xx); <paramref name="RetryAfter"/> when the provider said how long to wait.</summary>
    public sealed record Transient(string Reason, TimeSpan? RetryAfter = null) : SendResult;

    /// <summary>Retrying cannot help (e.g. invalid recipient).</summary>
    public sealed record Permanent(string Reason) : SendResult;
}

/// <summary>Something a provider reported through its webhook.</summary>
public abstract record ChannelCallback
{
    private ChannelCallback()
    {
    }

    /// <summary>A status report for a message we sent: <paramref name="Status"/> is delivered, read or failed.</summary>
    public sealed record StatusReport(string ProviderMessageId, string Status, DateTimeOffset OccurredAt, string? Error = null) : ChannelCallback;

    /// <summary>
    /// A message a channel contact sent us, optionally in reply to one of ours (which tells the
    /// conversation). <paramref name="ProviderMessageId"/> identifies it at the provider (dedupe).
    /// </summary>
    public sealed record InboundMessage(string ProviderMessageId, string FromAddress, string Text, string? InReplyTo, DateTimeOffset OccurredAt)
        : ChannelCallback;
}

/// <summary>The outcome of checking a webhook's signature.</summary>
/// <param name="Valid">Signature present, correct and within the timestamp tolerance.</param>
/// <param name="WebhookId">The provider's id of this webhook delivery, for replay protection (null if the provider has none).</param>
/// <param name="Error">Why it was rejected.</param>
public sealed record WebhookVerification(bool Valid, string? WebhookId, string? Error)
{
    public static WebhookVerification Rejected(string error) => new(false, null, error);
}

/// <summary>
/// A channel provider (WhatsApp, SMS, ...). Everything provider-specific — the send API, address
/// format, webhook signature scheme and payload shape — lives behind this interface, so a real
/// connector replaces a simulated one with no change outside its own class and its options.
/// </summary>
public interface IChannelConnector
{
    /// <summary>The channel name from <c>Chat4All.Contracts.Channels</c>.</summary>
    string Channel { get; }

    /// <summary>Whether <paramref name="address"/> is well formed for this channel (e.g. E.164 for SMS).</summary>
    bool IsValidAddress(string address);

    Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>Checks an inbound webhook's authenticity before anything in it is believed.</summary>
    WebhookVerification VerifyWebhook(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now);

    /// <summary>Reads a verified webhook body; throws <see cref="FormatException"/> when it is not understood.</summary>
    IReadOnlyList<ChannelCallback> ParseWebhook(ReadOnlySpan<byte> body);
}
