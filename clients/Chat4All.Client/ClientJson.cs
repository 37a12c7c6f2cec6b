using System.Text.Json;
using System.Text.Json.Serialization;
using Chat4All.Contracts.Realtime;

namespace Chat4All.Client;

/// <summary>A WebSocket frame as it travels: <c>{type, timestamp, data}</c>.</summary>
internal sealed record WireFrame(string Type, DateTimeOffset? Timestamp, JsonElement Data);

/// <summary>A frame this client sends: <c>{type, data}</c>.</summary>
internal sealed record OutgoingFrame<T>(string Type, T Data);

/// <summary>The wire's JSON: snake_case names, dictionary keys as given (conversation ids), nulls left out.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DictionaryKeyPolicy = JsonKnownNamingPolicy.Unspecified,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(OAuthError))]
[JsonSerializable(typeof(ApiProblem))]
[JsonSerializable(typeof(WhoAmI))]
[JsonSerializable(typeof(DirectoryPage))]
[JsonSerializable(typeof(DirectoryUser))]
[JsonSerializable(typeof(ConversationPage))]
[JsonSerializable(typeof(Conversation))]
[JsonSerializable(typeof(CreateConversationRequest))]
[JsonSerializable(typeof(AddMembersRequest))]
[JsonSerializable(typeof(Message))]
[JsonSerializable(typeof(MessagePage))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(AcceptedMessage))]
[JsonSerializable(typeof(EditMessageRequest))]
[JsonSerializable(typeof(MessageChanged))]
[JsonSerializable(typeof(MarkReadRequest))]
[JsonSerializable(typeof(MarkReadResponse))]
[JsonSerializable(typeof(InitiateUploadRequest))]
[JsonSerializable(typeof(InitiatedUpload))]
[JsonSerializable(typeof(ChunkStored))]
[JsonSerializable(typeof(UploadStatus))]
[JsonSerializable(typeof(FileMetadata))]
[JsonSerializable(typeof(WireFrame))]
[JsonSerializable(typeof(OutgoingFrame<ResumeData>))]
[JsonSerializable(typeof(ConnectionEstablishedData))]
[JsonSerializable(typeof(MessageCreatedData))]
[JsonSerializable(typeof(MessageStatusUpdatedData))]
[JsonSerializable(typeof(ConversationReadData))]
[JsonSerializable(typeof(PresenceChangedData))]
[JsonSerializable(typeof(ResumedData))]
[JsonSerializable(typeof(ErrorData))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ClientJson : JsonSerializerContext;
