namespace Chat4All.Contracts.Events;

/// <summary>
/// Published by messaging when a group's owner adds members (partition key: conversation id).
/// <see cref="UserIds"/> are the new members only; <see cref="Members"/> is everyone after the change.
/// </summary>
public sealed record ConversationMemberAdded(Guid ConversationId, Guid TenantId, IReadOnlyList<Guid> UserIds, IReadOnlyList<Guid> Members,
    Guid AddedBy, DateTimeOffset AddedAt);

/// <summary>
/// Published by messaging when a member leaves a group or its owner removes them (partition key:
/// conversation id). <see cref="LeftAtSeq"/> is the conversation's last <c>seq</c> at that moment: the
/// former member keeps the history up to it, and nothing after. <see cref="Members"/> is everyone after the change.
/// </summary>
public sealed record ConversationMemberRemoved(Guid ConversationId, Guid TenantId, Guid UserId, long LeftAtSeq, IReadOnlyList<Guid> Members,
    Guid RemovedBy, DateTimeOffset RemovedAt);

/// <summary>Published by messaging when a group's owner renames it or sets its description (partition key: conversation id).</summary>
public sealed record ConversationUpdated(Guid ConversationId, Guid TenantId, string? Name, string? Description, Guid UpdatedBy, DateTimeOffset UpdatedAt);
