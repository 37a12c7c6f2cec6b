using System.Text.Json;
using System.Text.Json.Serialization;

namespace Chat4All.Cli.Api;

// The wire records of docs/api.md the CLI reads or writes (snake_case through CliJson).

public sealed record TokenResponse(string AccessToken, string? TokenType, int ExpiresIn, string? RefreshToken, string? Scope);

/// <summary>RFC 6749 §5.2 error body of the <c>/auth/*</c> endpoints.</summary>
public sealed record OAuthError(string? Error, string? ErrorDescription);

/// <summary>RFC 9457 problem with the API's <c>code</c> and <c>trace_id</c>; validation problems add <c>errors</c>.</summary>
public sealed record Problem(
    string? Type,
    string? Title,
    int? Status,
    string? Detail,
    string? TraceId,
    string? Code,
    Dictionary<string, string[]>? Errors,
    List<int>? MissingChunks);

public sealed record ConversationMetadata(string? Name, string? Description);

public sealed record LastMessage(Guid MessageId, long Seq, Guid SenderId, string? Preview, DateTimeOffset CreatedAt);

public sealed record ConversationSummary(
    Guid ConversationId,
    string Type,
    ConversationMetadata? Metadata,
    List<Guid> Members,
    LastMessage? LastMessage,
    int UnreadCount,
    DateTimeOffset UpdatedAt);

public sealed record ConversationPage(List<ConversationSummary> Items, string? NextCursor, bool HasMore);

public sealed record Conversation(Guid ConversationId, string Type, List<Guid> Members, ConversationMetadata? Metadata, DateTimeOffset CreatedAt);

public sealed record CreateConversationRequest(string Type, List<Guid> Members, ConversationMetadata? Metadata);

public sealed record MessagePayload(string Type, string? Text = null, Guid? FileId = null);

public sealed record Message(
    Guid MessageId,
    Guid ConversationId,
    long Seq,
    Guid SenderId,
    MessagePayload Payload,
    List<string>? Channels,
    string? Status,
    DateTimeOffset CreatedAt);

public sealed record MessagePage(Guid ConversationId, List<Message> Messages, string? NextCursor, bool HasMore);

public sealed record SendMessageRequest(Guid MessageId, Guid ConversationId, MessagePayload Payload, List<string>? Channels, string? Priority);

public sealed record AcceptedMessage(string Status, Guid MessageId, Guid ConversationId, long Seq, DateTimeOffset CreatedAt);

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

/// <summary>Every WebSocket frame: <c>{type, timestamp, data}</c>.</summary>
public sealed record Frame(string Type, DateTimeOffset? Timestamp, JsonElement Data);

public sealed record ResumeData(Dictionary<Guid, long> Positions);

public sealed record ClientFrame<T>(string Type, T Data);

public sealed record ResumedData(Guid ConversationId, long FromSeq, long ToSeq, bool Recovered);

public sealed record ConnectionEstablished(Guid UserId, string? ConnectionId, string? ServerInstance, int HeartbeatIntervalS);

public sealed record CloseCodeError(string? Code, string? Message);

public sealed record DirectoryUser(Guid UserId, string Name);

public sealed record DirectoryPage(List<DirectoryUser> Items, string? NextCursor, bool HasMore);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DictionaryKeyPolicy = JsonKnownNamingPolicy.Unspecified,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(OAuthError))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(ConversationPage))]
[JsonSerializable(typeof(Conversation))]
[JsonSerializable(typeof(CreateConversationRequest))]
[JsonSerializable(typeof(Message))]
[JsonSerializable(typeof(MessagePage))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(AcceptedMessage))]
[JsonSerializable(typeof(MarkReadRequest))]
[JsonSerializable(typeof(MarkReadResponse))]
[JsonSerializable(typeof(InitiateUploadRequest))]
[JsonSerializable(typeof(InitiatedUpload))]
[JsonSerializable(typeof(ChunkStored))]
[JsonSerializable(typeof(UploadStatus))]
[JsonSerializable(typeof(FileMetadata))]
[JsonSerializable(typeof(Frame))]
[JsonSerializable(typeof(ClientFrame<ResumeData>))]
[JsonSerializable(typeof(ResumedData))]
[JsonSerializable(typeof(ConnectionEstablished))]
[JsonSerializable(typeof(CloseCodeError))]
[JsonSerializable(typeof(DirectoryPage))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Auth.Profile))]
[JsonSerializable(typeof(Files.UploadState))]
internal sealed partial class CliJson : JsonSerializerContext;
