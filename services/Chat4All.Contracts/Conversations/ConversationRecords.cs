using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Chat4All.Contracts.Users;

namespace Chat4All.Contracts.Conversations;

// The REST bodies of /v1/conversations, its members and read positions (docs/api.md). The annotations
// state the wire contract and are what the validation filter checks (docs/adr/0027).

public sealed record ConversationMetadata(
    [property: StringLength(ConversationMetadata.MaxNameLength), NoNul] string? Name,
    [property: StringLength(ConversationMetadata.MaxDescriptionLength), NoNul] string? Description)
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 1000;
}

public sealed record CreateConversationRequest([property: Required, NoNul] string Type, [property: Required] IReadOnlyList<Guid> Members, ConversationMetadata? Metadata);

public sealed record ConversationResponse(Guid ConversationId, string Type, IReadOnlyList<Guid> Members, ConversationMetadata Metadata, DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<UserRef>? MemberDetails = null);

public sealed record LastMessagePreview(Guid MessageId, long Seq, Guid SenderId, string Preview, DateTimeOffset CreatedAt);

public sealed record ConversationSummary(Guid ConversationId, string Type, ConversationMetadata Metadata, IReadOnlyList<Guid> Members,
    LastMessagePreview? LastMessage, long UnreadCount, DateTimeOffset UpdatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<UserRef>? MemberDetails = null);

public sealed record ConversationPage(IReadOnlyList<ConversationSummary> Items, string? NextCursor, bool HasMore);

// No [Required]: the handler checks who is asking before what was asked, so an outsider learns nothing from a 400.
public sealed record AddMembersRequest(IReadOnlyList<Guid>? UserIds);

public sealed record UpdateConversationRequest(
    [property: StringLength(ConversationMetadata.MaxNameLength), NoNul] string? Name,
    [property: StringLength(ConversationMetadata.MaxDescriptionLength), NoNul] string? Description);

public sealed record MarkReadRequest(long? UpToSeq);

public sealed record MarkReadResponse(Guid ConversationId, long ReadUpToSeq, int MessagesMarkedRead);
