using Chat4All.Contracts.Events;

namespace Chat4All.Client;

// The REST bodies this client reads and writes, in snake_case on the wire (docs/api.md). Frames and
// the message payload are the contract's own records (Chat4All.Contracts); these are the REST shapes
// that have no home there yet.

/// <summary>The token endpoint's answer (RFC 6749 §5.1).</summary>
public sealed record TokenResponse(string AccessToken, string? TokenType, int ExpiresIn, string? RefreshToken, string? Scope);

/// <summary>RFC 6749 §5.2 error body of the <c>/auth/*</c> endpoints.</summary>
public sealed record OAuthError(string? Error, string? ErrorDescription);

/// <summary>RFC 9457 problem with the API's <c>code</c> and <c>trace_id</c>; validation problems add <c>errors</c>, incomplete uploads <c>missing_chunks</c>.</summary>
public sealed record ApiProblem(
    string? Type,
    string? Title,
    int? Status,
    string? Detail,
    string? TraceId,
    string? Code,
    Dictionary<string, string[]>? Errors,
    List<int>? MissingChunks);

/// <summary><c>GET /v1/me</c>: who the token belongs to.</summary>
public sealed record WhoAmI(string UserId, string? TenantId, string? Name, IReadOnlyList<string> Scopes);

/// <summary>A user as the directory shows it.</summary>
public sealed record DirectoryUser(Guid UserId, string Name);

/// <summary>One page of <c>GET /v1/users</c>.</summary>
public sealed record DirectoryPage(List<DirectoryUser> Items, string? NextCursor, bool HasMore);

/// <summary>A user id with its display name (<c>member_details</c>, <c>sender</c>).</summary>
public sealed record UserRef(Guid UserId, string? Name);

public sealed record ConversationMetadata(string? Name, string? Description);

public sealed record LastMessage(Guid MessageId, long Seq, Guid SenderId, string? Preview, DateTimeOffset CreatedAt);

public sealed record ConversationSummary(
    Guid ConversationId,
    string Type,
    ConversationMetadata? Metadata,
    List<Guid> Members,
    LastMessage? LastMessage,
    long UnreadCount,
    DateTimeOffset UpdatedAt,
    List<UserRef>? MemberDetails = null);

public sealed record ConversationPage(List<ConversationSummary> Items, string? NextCursor, bool HasMore);

public sealed record Conversation(Guid ConversationId, string Type, List<Guid> Members, ConversationMetadata? Metadata, DateTimeOffset CreatedAt,
    List<UserRef>? MemberDetails = null);

public sealed record CreateConversationRequest(string Type, List<Guid> Members, ConversationMetadata? Metadata);

public sealed record AddMembersRequest(IReadOnlyList<Guid> UserIds);

public sealed record Message(
    Guid MessageId,
    Guid ConversationId,
    long Seq,
    Guid SenderId,
    MessagePayload Payload,
    List<string>? Channels,
    string? Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? EditedAt = null,
    DateTimeOffset? DeletedAt = null,
    UserRef? Sender = null);

public sealed record MessagePage(Guid ConversationId, List<Message> Messages, string? NextCursor, bool HasMore);

public sealed record SendMessageRequest(Guid? MessageId, Guid ConversationId, MessagePayload Payload, List<string>? Channels, string? Priority);

public sealed record AcceptedMessage(string Status, Guid MessageId, Guid ConversationId, long Seq, DateTimeOffset CreatedAt);

public sealed record EditMessageRequest(string Text);

/// <summary>A message after an edit or a delete; <c>change_seq</c> places the change in the conversation's sequence.</summary>
public sealed record MessageChanged(Guid MessageId, Guid ConversationId, long Seq, long? ChangeSeq, MessagePayload Payload,
    DateTimeOffset? EditedAt, DateTimeOffset? DeletedAt);

public sealed record MarkReadRequest(long? UpToSeq);

public sealed record MarkReadResponse(Guid ConversationId, long ReadUpToSeq, int MessagesMarkedRead);

public sealed record InitiateUploadRequest(Guid ConversationId, string Filename, long FileSize, string MimeType, string? ChecksumSha256, long? ChunkSize);

public sealed record InitiatedUpload(Guid UploadId, int TotalChunks, long ChunkSize, DateTimeOffset ExpiresAt);

public sealed record ChunkStored(Guid UploadId, int ChunkNumber, int UploadedChunks, int TotalChunks, double Percentage);

public sealed record UploadStatus(
    Guid UploadId,
    string Status,
    int UploadedChunks,
    int TotalChunks,
    double Percentage,
    List<int>? ReceivedChunks,
    List<int>? MissingChunks,
    Guid? FileId,
    string? DownloadUrl,
    string? FailureReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? CompletedAt);

public sealed record FileMetadata(
    Guid FileId,
    Guid ConversationId,
    Guid UploadedBy,
    string Filename,
    string MimeType,
    long Size,
    string ChecksumSha256,
    string DownloadUrl,
    DateTimeOffset CreatedAt);
