using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Chat4All.Contracts.Auth;
using Chat4All.Contracts.Conversations;
using Chat4All.Contracts.Delivery;
using Chat4All.Contracts.Events;
using Chat4All.Contracts.Files;
using Chat4All.Contracts.Messages;
using Chat4All.Contracts.Realtime;
using Chat4All.Contracts.Users;
using Chat4All.Contracts.Webhooks;

namespace Chat4All.Contracts;

/// <summary>
/// How the wire contract is written: snake_case JSON, the web defaults. Integration events, frames
/// and the REST records use serialization code generated at build time from
/// <see cref="ContractJsonContext"/> (no reflection on the hot path). Anything else written with these
/// options, such as a service's own row JSON, falls back to reflection. One set of options serves the
/// server (events, frames, HTTP bodies) and the .NET client alike (docs/adr/0051).
/// </summary>
public static class ContractJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower,
        TypeInfoResolver = JsonTypeInfoResolver.Combine(ContractJsonContext.Default, new DefaultJsonTypeInfoResolver()),
    };
}

/// <summary>The contract's records — events, frames, REST bodies — with serialization code generated at build time.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DictionaryKeyPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(UserCreated))]
[JsonSerializable(typeof(UserRenamed))]
[JsonSerializable(typeof(UserDisabled))]
[JsonSerializable(typeof(UserEnabled))]
[JsonSerializable(typeof(UserDeleted))]
[JsonSerializable(typeof(ConversationCreated))]
[JsonSerializable(typeof(ConversationMemberAdded))]
[JsonSerializable(typeof(ConversationMemberRemoved))]
[JsonSerializable(typeof(ConversationUpdated))]
[JsonSerializable(typeof(MessageCreated))]
[JsonSerializable(typeof(MessageUpdated))]
[JsonSerializable(typeof(MessageDeleted))]
[JsonSerializable(typeof(ConversationRead))]
[JsonSerializable(typeof(MessageStatusChanged))]
[JsonSerializable(typeof(MessageInbound))]
[JsonSerializable(typeof(DeliveryDeadLettered))]
[JsonSerializable(typeof(PresenceChanged))]
[JsonSerializable(typeof(FileUploaded))]
[JsonSerializable(typeof(ConnectionEstablishedData))]
[JsonSerializable(typeof(MessageCreatedData))]
[JsonSerializable(typeof(MessageStatusUpdatedData))]
[JsonSerializable(typeof(ConversationReadData))]
[JsonSerializable(typeof(PresenceChangedData))]
[JsonSerializable(typeof(ResumedData))]
[JsonSerializable(typeof(ErrorData))]
[JsonSerializable(typeof(MessageUpdatedData))]
[JsonSerializable(typeof(MessageDeletedData))]
[JsonSerializable(typeof(ConversationMemberAddedData))]
[JsonSerializable(typeof(ConversationMemberRemovedData))]
[JsonSerializable(typeof(ConversationUpdatedData))]
[JsonSerializable(typeof(SubscriptionData))]
[JsonSerializable(typeof(ResumeData))]
[JsonSerializable(typeof(ServerFrame<object>))]
[JsonSerializable(typeof(ServerFrame<JsonElement>))]
[JsonSerializable(typeof(ClientFrame<SubscriptionData>))]
[JsonSerializable(typeof(ClientFrame<ResumeData>))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(ApiProblem))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(OAuthError))]
[JsonSerializable(typeof(DiscoveryDocument))]
[JsonSerializable(typeof(JsonWebKeySet))]
[JsonSerializable(typeof(MeResponse))]
[JsonSerializable(typeof(RenameRequest))]
[JsonSerializable(typeof(RenamedUserResponse))]
[JsonSerializable(typeof(UserSummary))]
[JsonSerializable(typeof(UserDirectoryPage))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(CreatedUserResponse))]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(UserPage))]
[JsonSerializable(typeof(ClientSecretResponse))]
[JsonSerializable(typeof(CreateConversationRequest))]
[JsonSerializable(typeof(ConversationResponse))]
[JsonSerializable(typeof(ConversationPage))]
[JsonSerializable(typeof(AddMembersRequest))]
[JsonSerializable(typeof(UpdateConversationRequest))]
[JsonSerializable(typeof(MarkReadRequest))]
[JsonSerializable(typeof(MarkReadResponse))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(AcceptedMessage))]
[JsonSerializable(typeof(MessageView))]
[JsonSerializable(typeof(MessageDetail))]
[JsonSerializable(typeof(MessagePage))]
[JsonSerializable(typeof(EditMessageRequest))]
[JsonSerializable(typeof(MessageChanged))]
[JsonSerializable(typeof(MessageEditsPage))]
[JsonSerializable(typeof(InitiateUploadRequest))]
[JsonSerializable(typeof(InitiatedUpload))]
[JsonSerializable(typeof(ChunkStored))]
[JsonSerializable(typeof(UploadStatusResponse))]
[JsonSerializable(typeof(CompletionAccepted))]
[JsonSerializable(typeof(FileMetadata))]
[JsonSerializable(typeof(PresenceList))]
[JsonSerializable(typeof(ChannelAddressList))]
[JsonSerializable(typeof(SetChannelAddressRequest))]
[JsonSerializable(typeof(SetChannelOrderRequest))]
[JsonSerializable(typeof(DeadLetterPage))]
[JsonSerializable(typeof(ReplayAccepted))]
[JsonSerializable(typeof(IReadOnlyList<SimulatedChannelState>))]
[JsonSerializable(typeof(SetOutageRequest))]
[JsonSerializable(typeof(SimulateInboundRequest))]
[JsonSerializable(typeof(SimulatedInbound))]
[JsonSerializable(typeof(CreateWebhookSubscriptionRequest))]
[JsonSerializable(typeof(WebhookSubscriptionView))]
[JsonSerializable(typeof(WebhookSubscriptionList))]
[JsonSerializable(typeof(WebhookDeliveryPage))]
public sealed partial class ContractJsonContext : JsonSerializerContext;
