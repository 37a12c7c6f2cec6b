namespace Chat4All.Messaging.Data;

public sealed class Conversation
{
    public Guid Id { get; init; }

    /// <summary>The creator's tenant; every member belongs to it, and no other tenant sees the conversation.</summary>
    public Guid TenantId { get; init; }

    public required string Type { get; init; }

    public string? Name { get; set; }

    public string? Description { get; set; }

    public Guid CreatedBy { get; init; }

    /// <summary>For private conversations: the two member ids, ordered, so a pair maps to one conversation.</summary>
    public string? PrivatePairKey { get; init; }

    /// <summary>The last <c>seq</c> handed out; the next message takes <c>LastSeq + 1</c> under the row lock.</summary>
    public long LastSeq { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Newest activity (creation or last message): the order of the conversation list.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    public List<ConversationMember> Members { get; init; } = [];
}

public sealed class ConversationMember
{
    public Guid ConversationId { get; init; }

    public Guid UserId { get; init; }

    public DateTimeOffset JoinedAt { get; init; }

    /// <summary>Highest <c>seq</c> this member has read.</summary>
    public long LastReadSeq { get; set; }
}

/// <summary>
/// A former member of a group: they left, or its owner removed them, when the conversation's last
/// <c>seq</c> was <see cref="LeftAtSeq"/>. They keep reading the history up to it (docs/adr/0041);
/// joining again deletes the row.
/// </summary>
public sealed class ConversationDeparture
{
    public Guid ConversationId { get; init; }

    public Guid UserId { get; init; }

    public long LeftAtSeq { get; set; }

    public DateTimeOffset LeftAt { get; set; }

    /// <summary>Who removed them: themselves when they left.</summary>
    public Guid RemovedBy { get; set; }
}

public sealed class Message
{
    public Guid Id { get; init; }

    public Guid ConversationId { get; init; }

    public long Seq { get; init; }

    public Guid SenderId { get; init; }

    public required string PayloadType { get; init; }

    /// <summary>The current text: changed by an edit, removed (null) by a delete.</summary>
    public string? Text { get; set; }

    /// <summary>Removed (null) by a delete.</summary>
    public Guid? FileId { get; set; }

    /// <summary>When the sender last edited the text; the earlier texts are in <see cref="MessageEdit"/>.</summary>
    public DateTimeOffset? EditedAt { get; set; }

    /// <summary>When the sender deleted the message: the row stays (its seq kept) as a tombstone without content.</summary>
    public DateTimeOffset? DeletedAt { get; set; }

    /// <summary>The seq its latest edit or its deletion took in the conversation's sequence (docs/adr/0045).</summary>
    public long? ChangeSeq { get; set; }

    public required List<string> Channels { get; init; }

    public required string Priority { get; init; }

    /// <summary>The channel delivery tries for a recipient when another channel failed for good.</summary>
    public string? FallbackChannel { get; init; }

    /// <summary>Furthest delivery status reached by any recipient.</summary>
    public required string Status { get; set; }

    /// <summary>The sender's <c>Idempotency-Key</c>, when the request named one instead of a message id.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>SHA-256 of the canonical request, to tell a replay from a different request with the same key.</summary>
    public required string RequestHash { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// One edit of a text message: the text it replaced and the edit's own seq in the conversation
/// (docs/adr/0045). Removed with the message's content when the message is deleted.
/// </summary>
public sealed class MessageEdit
{
    public Guid MessageId { get; init; }

    /// <summary>The edit's position in the conversation's sequence (the conversation's next seq when it was made).</summary>
    public long Seq { get; init; }

    public required string PreviousText { get; init; }

    public required string Text { get; init; }

    /// <summary>The sender's <c>Idempotency-Key</c>, when the request named one.</summary>
    public string? IdempotencyKey { get; init; }

    public DateTimeOffset EditedAt { get; init; }
}

/// <summary>Delivery state of one message for one recipient on one channel.</summary>
public sealed class Receipt
{
    public Guid MessageId { get; init; }

    public Guid RecipientId { get; init; }

    public required string Channel { get; init; }

    public required string Status { get; set; }

    public string? Error { get; set; }

    /// <summary>For a fallback delivery: the channel whose failure caused it.</summary>
    public string? FallbackFrom { get; set; }

    /// <summary>What the latest edit or delete of the message did on this channel (docs/api.md §4.8); null if none was made.</summary>
    public string? ChannelChange { get; set; }

    /// <summary>The seq of the change <see cref="ChannelChange"/> reports: an earlier change's outcome never replaces a later one's.</summary>
    public long? ChannelChangeSeq { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A completed file as the files service announced it (<c>file.uploaded</c>): messaging's own read
/// model, so a file message is checked without calling files. Rows are never changed.
/// </summary>
public sealed class ConversationFile
{
    public Guid FileId { get; init; }

    public Guid ConversationId { get; init; }

    public Guid OwnerId { get; init; }

    public required string FileName { get; init; }

    public required string MimeType { get; init; }

    public long Size { get; init; }

    public required string Sha256 { get; init; }

    public DateTimeOffset CompletedAt { get; init; }
}

/// <summary>
/// A user as identity announced it (<c>user.created</c>, <c>user.renamed</c>): messaging's own read
/// model, so members are checked to exist in the caller's tenant without calling identity, and the
/// source of the user directory and of expanded member and sender names.
/// </summary>
public sealed class TenantUser
{
    public Guid UserId { get; init; }

    public Guid TenantId { get; init; }

    public required string Name { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When <see cref="Name"/> was set (creation or the rename it came from): an older event never overwrites it.</summary>
    public DateTimeOffset NameUpdatedAt { get; init; }

    /// <summary>
    /// Set by <c>user.deleted</c>: the user is gone from the directory and may not become a member; the
    /// row stays so their old messages keep a name.
    /// </summary>
    public DateTimeOffset? DeletedAt { get; init; }
}
