namespace Chat4All.Contracts.Delivery;

// The REST bodies of channel addresses (/v1/me/channels, /v1/admin/users/{id}/channels), dead letters
// and the channel simulator (/v1/admin/...).

public sealed record ChannelAddressView(string Channel, string Address, DateTimeOffset UpdatedAt);

public sealed record ChannelAddressList(Guid UserId, IReadOnlyList<ChannelAddressView> Items);

public sealed record SetChannelAddressRequest(string? Address);

public sealed record SetChannelOrderRequest(IReadOnlyList<string?>? Channels);

public sealed record DeadLetterView(Guid DeliveryId, Guid MessageId, Guid ConversationId, Guid RecipientId, string Channel, int Attempts, string Reason,
    DateTimeOffset DeadLetteredAt);

public sealed record DeadLetterPage(IReadOnlyList<DeadLetterView> Items, string? NextCursor, bool HasMore);

public sealed record ReplayAccepted(Guid DeliveryId, string Status);

public sealed record SimulatedChannelState(string Channel, bool Outage, long ProviderMessages);

public sealed record SetOutageRequest(bool Down);

public sealed record SimulateInboundRequest(string? From, string? Text, string? InReplyTo);

public sealed record SimulatedInbound(string Channel, string ProviderMessageId);
