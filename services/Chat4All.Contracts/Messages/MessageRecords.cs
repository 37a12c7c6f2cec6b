using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Chat4All.Contracts.Events;
using Chat4All.Contracts.Users;

namespace Chat4All.Contracts.Messages;

// The REST bodies of /v1/messages and conversation history (docs/api.md).

public sealed record PayloadRequest([property: Required, NoNul] string Type, [property: NoNul] string? Text, Guid? FileId);

public sealed record SendMessageRequest(Guid? MessageId, [property: Required] Guid? ConversationId, [property: Required] PayloadRequest? Payload,
    [property: NoNul] IReadOnlyList<string>? Channels, [property: NoNul] string? Priority, [property: NoNul] string? FallbackChannel = null);

public sealed record AcceptedMessage(string Status, Guid MessageId, Guid ConversationId, long Seq, DateTimeOffset CreatedAt);

/// <summary>A message as history shows it; a deleted one is a tombstone (<c>deleted_at</c> set, no content) at its seq.</summary>
public sealed record MessageView(Guid MessageId, Guid ConversationId, long Seq, Guid SenderId, MessagePayload Payload,
    IReadOnlyList<string> Channels, string Priority, string Status, DateTimeOffset CreatedAt, DateTimeOffset? EditedAt = null, DateTimeOffset? DeletedAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UserRef? Sender = null);

/// <summary>One delivery of a message; <c>channel_change</c>: what the latest edit or delete did on its channel (null if none).</summary>
public sealed record DeliveryView(Guid RecipientId, string Channel, string Status, DateTimeOffset UpdatedAt, string? Error, string? FallbackFrom,
    string? ChannelChange);

public sealed record MessageDetail(Guid MessageId, Guid ConversationId, long Seq, Guid SenderId, MessagePayload Payload,
    IReadOnlyList<string> Channels, string Priority, string Status, DateTimeOffset CreatedAt, IReadOnlyList<DeliveryView> Deliveries,
    DateTimeOffset? EditedAt = null, DateTimeOffset? DeletedAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UserRef? Sender = null);

public sealed record MessagePage(Guid ConversationId, IReadOnlyList<MessageView> Messages, string? NextCursor, bool HasMore);

public sealed record EditMessageRequest([property: Required, NoNul] string? Text);

/// <summary>A message after an edit or a delete: <c>change_seq</c> is the position of its latest change in the conversation's sequence.</summary>
public sealed record MessageChanged(Guid MessageId, Guid ConversationId, long Seq, long? ChangeSeq, MessagePayload Payload,
    DateTimeOffset? EditedAt, DateTimeOffset? DeletedAt);

public sealed record MessageEditView(long Seq, string PreviousText, string Text, DateTimeOffset EditedAt);

public sealed record MessageEditsPage(Guid MessageId, IReadOnlyList<MessageEditView> Edits);
