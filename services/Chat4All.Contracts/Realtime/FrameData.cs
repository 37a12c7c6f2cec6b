using Chat4All.Contracts.Conversations;
using Chat4All.Contracts.Events;

namespace Chat4All.Contracts.Realtime;

// The `data` of each WebSocket frame (docs/api.md §7.2), one record per frame type, serialized in
// snake_case. The AsyncAPI document's schemas are generated from these records (docs/adr/0056), so a
// frame's shape is written down once.

/// <summary>Server → client, first frame of every connection.</summary>
public sealed record ConnectionEstablishedData(Guid UserId, string ConnectionId, string ServerInstance, int HeartbeatIntervalS);

/// <summary>Server → client: a message was accepted into one of the user's conversations (live, or replayed by <c>resume</c>).</summary>
public sealed record MessageCreatedData(
    Guid MessageId,
    Guid ConversationId,
    long Seq,
    Guid SenderId,
    MessagePayload Payload,
    IReadOnlyList<string> Channels,
    string Status,
    DateTimeOffset CreatedAt);

/// <summary>Server → client: a delivery of a message moved on (accepted → sent → delivered → read, or failed).</summary>
public sealed record MessageStatusUpdatedData(
    Guid MessageId,
    Guid ConversationId,
    Guid RecipientId,
    string Channel,
    string OldStatus,
    string NewStatus,
    DateTimeOffset UpdatedAt,
    string? Error);

/// <summary>Server → client: a member's read position moved.</summary>
public sealed record ConversationReadData(Guid ConversationId, Guid UserId, long ReadUpToSeq, DateTimeOffset ReadAt);

/// <summary>Server → client: a correspondent came online or went offline.</summary>
public sealed record PresenceChangedData(Guid UserId, string Status, DateTimeOffset? LastSeenAt);

/// <summary>Server → client: a <c>resume</c> of one conversation is done; <c>recovered: false</c> means page history past <c>to_seq</c>.</summary>
public sealed record ResumedData(Guid ConversationId, long FromSeq, long ToSeq, bool Recovered);

/// <summary>Server → client: a frame of the client's was refused; the connection stays open.</summary>
public sealed record ErrorData(string Code, string Message);

/// <summary>Client → server: <c>subscribe</c> / <c>unsubscribe</c> one conversation.</summary>
public sealed record SubscriptionData(Guid ConversationId);

/// <summary>Client → server: replay what came after each position (conversation id → last seq held).</summary>
public sealed record ResumeData(IReadOnlyDictionary<Guid, long> Positions);

/// <summary>Server → client: a text message was edited; <c>seq</c> is the edit's own position, <c>message_seq</c> the message's (docs/adr/0045).</summary>
public sealed record MessageUpdatedData(Guid MessageId, Guid ConversationId, long Seq, long MessageSeq, Guid SenderId, MessagePayload Payload, DateTimeOffset EditedAt);

/// <summary>Server → client: a message was deleted and is a tombstone at <c>message_seq</c>; <c>seq</c> is the deletion's own position.</summary>
public sealed record MessageDeletedData(Guid MessageId, Guid ConversationId, long Seq, long MessageSeq, Guid SenderId, DateTimeOffset DeletedAt);

/// <summary>Server → client: the group's owner added <c>user_ids</c>; the new members get it too.</summary>
public sealed record ConversationMemberAddedData(Guid ConversationId, IReadOnlyList<Guid> UserIds, Guid AddedBy, DateTimeOffset AddedAt);

/// <summary>Server → client: a member left or was removed; they keep the history up to <c>left_at_seq</c>.</summary>
public sealed record ConversationMemberRemovedData(Guid ConversationId, Guid UserId, Guid RemovedBy, long LeftAtSeq, DateTimeOffset RemovedAt);

/// <summary>Server → client: the group's new name and description.</summary>
public sealed record ConversationUpdatedData(Guid ConversationId, ConversationMetadata Metadata, Guid UpdatedBy, DateTimeOffset UpdatedAt);
