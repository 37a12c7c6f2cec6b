using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Chat4All.Contracts.Events;
using Chat4All.Contracts.Realtime;

namespace Chat4All.Contracts;

/// <summary>
/// How the wire contract is written: snake_case JSON, the web defaults. Integration events and frame
/// data use serialization code generated at build time from <see cref="ContractJsonContext"/>
/// (no reflection on the hot path). Anything else written with these options, such as a service's
/// own row JSON, falls back to reflection. One set of options serves events, frames and the
/// REST records alike.
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

/// <summary>The contract's records, with serialization code generated at build time.</summary>
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
[JsonSerializable(typeof(SubscriptionData))]
[JsonSerializable(typeof(ResumeData))]
public sealed partial class ContractJsonContext : JsonSerializerContext;
