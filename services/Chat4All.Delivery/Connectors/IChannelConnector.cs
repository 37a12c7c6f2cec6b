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

/// <summary>A change the sender made to a message after it was sent: its text edited, or the message deleted.</summary>
[Flags]
public enum ChannelChangeKinds
{
    None = 0,
    Edit = 1,
    Recall = 2,
}

/// <summary>
/// An edit (<paramref name="Text"/> is the new text) or a recall of a message the provider accepted
/// as <paramref name="ProviderMessageId"/>. <paramref name="ChangeId"/> is the idempotency key the
/// connector passes to its provider: the same change sent again must not be applied twice.
/// </summary>
public sealed record OutboundChange(
    Guid ChangeId,
    int Attempt,
    string Channel,
    string Address,
    string ProviderMessageId,
    ChannelChangeKinds Kind,
    string? Text);

/// <summary>
/// What a provider answered to a send, or to an edit or recall (<see cref="Accepted"/> then carries
/// the changed message's provider id; <see cref="Permanent"/> e.g. <c>edit_window_expired</c>).
/// </summary>
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

    /// <summary>
    /// The changes this provider lets a sender make to a message it already sent (an edit, a
    /// recall, both or none). A kind not in the set is never passed to <see cref="ChangeAsync"/>.
    /// </summary>
    ChannelChangeKinds SupportedChanges { get; }

    /// <summary>
    /// Edits or recalls a sent message at the provider. The provider's own rules — how long after
    /// the send a change is still allowed — answer <see cref="SendResult.Permanent"/> with the reason
    /// (<c>edit_window_expired</c>, <c>recall_window_expired</c>, <c>message_recalled</c>).
    /// </summary>
    Task<SendResult> ChangeAsync(OutboundChange change, CancellationToken cancellationToken);

    /// <summary>Checks an inbound webhook's authenticity before anything in it is believed.</summary>
    WebhookVerification VerifyWebhook(IHeaderDictionary headers, ReadOnlySpan<byte> body, DateTimeOffset now);

    /// <summary>Reads a verified webhook body; throws <see cref="FormatException"/> when it is not understood.</summary>
    IReadOnlyList<ChannelCallback> ParseWebhook(ReadOnlySpan<byte> body);
}
