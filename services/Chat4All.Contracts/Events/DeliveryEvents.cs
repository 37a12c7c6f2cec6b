namespace Chat4All.Contracts.Events;

/// <summary>
/// Published by delivery when a channel contact sent a message in reply to one of ours (partition
/// key: conversation id). <see cref="MessageId"/> is derived from the provider's message id, so a
/// provider that sends the webhook twice produces one message.
/// </summary>
public sealed record MessageInbound(
    Guid MessageId,
    Guid ConversationId,
    Guid SenderId,
    string Channel,
    string ProviderMessageId,
    MessagePayload Payload,
    DateTimeOffset ReceivedAt);

/// <summary>Published by delivery to <c>delivery_dlq</c> when a delivery failed for good (partition key: conversation id).</summary>
public sealed record DeliveryDeadLettered(
    Guid DeliveryId,
    Guid MessageId,
    Guid ConversationId,
    Guid RecipientId,
    string Channel,
    int Attempts,
    string Reason,
    DateTimeOffset DeadLetteredAt);
