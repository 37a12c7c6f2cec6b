namespace Chat4All.Contracts.Events;

/// <summary>
/// Published by messaging when the sender edits a text message, on topic <c>message.created</c> with the
/// conversation's messages (partition key: conversation id), so it is consumed after the original.
/// <see cref="Seq"/> is the edit's own position in the conversation's sequence, after the original's
/// <see cref="MessageSeq"/>; <see cref="Payload"/> is the new content (docs/adr/0045).
/// </summary>
public sealed record MessageUpdated(
    Guid MessageId,
    Guid ConversationId,
    long Seq,
    long MessageSeq,
    Guid SenderId,
    MessagePayload Payload,
    DateTimeOffset EditedAt);

/// <summary>
/// Published by messaging when the sender deletes a message, on topic <c>message.created</c> with the
/// conversation's messages (partition key: conversation id). The
/// message stays in history as a tombstone with its <see cref="MessageSeq"/>; <see cref="Seq"/> is the
/// deletion's own position in the conversation's sequence (docs/adr/0045).
/// </summary>
public sealed record MessageDeleted(
    Guid MessageId,
    Guid ConversationId,
    long Seq,
    long MessageSeq,
    Guid SenderId,
    string PayloadType,
    DateTimeOffset DeletedAt);
