namespace Chat4All.Contracts.Events;

/// <summary>Message payload: <c>{type:"text", text}</c> or <c>{type:"file", file_id}</c>.</summary>
public sealed record MessagePayload(string Type, string? Text, Guid? FileId);

/// <summary>
/// Published by messaging when a conversation is created (partition key: conversation id).
/// <see cref="TenantId"/> is the tenant every member belongs to (absent from events older than tenants).
/// </summary>
public sealed record ConversationCreated(Guid ConversationId, string Type, IReadOnlyList<Guid> Members, Guid CreatedBy, DateTimeOffset CreatedAt,
    Guid? TenantId = null);

/// <summary>Published by messaging for every accepted message (partition key: conversation id).</summary>
public sealed record MessageCreated(
    Guid MessageId,
    Guid ConversationId,
    long Seq,
    Guid SenderId,
    IReadOnlyList<Guid> Recipients,
    MessagePayload Payload,
    IReadOnlyList<string> Channels,
    string Priority,
    DateTimeOffset CreatedAt,
    string? FallbackChannel = null);

/// <summary>Published by messaging when a member's read position moves (partition key: conversation id).</summary>
public sealed record ConversationRead(Guid ConversationId, Guid UserId, long ReadUpToSeq, int MessagesMarkedRead, DateTimeOffset ReadAt);

/// <summary>
/// Published by delivery for every delivery-status transition (partition key: conversation id), and
/// for what an edit or delete of the message did on the delivery's channel: then
/// <see cref="ChannelChange"/> is one of <see cref="ChannelChangeOutcomes"/> and <see cref="ChangeSeq"/>
/// the change's seq (a later change's outcome replaces an earlier one's); old and new status are then
/// equal unless the delete cancelled an unsent delivery.
/// </summary>
public sealed record MessageStatusChanged(
    Guid MessageId,
    Guid ConversationId,
    Guid RecipientId,
    string Channel,
    string OldStatus,
    string NewStatus,
    DateTimeOffset UpdatedAt,
    string? Error = null,
    string? FallbackFrom = null,
    string? ChannelChange = null,
    long? ChangeSeq = null);
