using System.Text.Json;
using System.Text.Json.Serialization;
using Chat4All.Client;
using Chat4All.Contracts;
using Chat4All.Contracts.Conversations;
using Chat4All.Contracts.Messages;
using Chat4All.Contracts.Users;

namespace Chat4All.Cli.Api;

/// <summary>
/// The JSON the CLI reads and writes itself: the SDK's wire records it asks for through
/// <see cref="ApiConnection"/> (to print the server's own body with <c>--output json</c>), and its
/// own files (profiles, upload states). Snake_case, as on the wire.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DictionaryKeyPolicy = JsonKnownNamingPolicy.Unspecified,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(ApiProblem))]
[JsonSerializable(typeof(ConversationPage))]
[JsonSerializable(typeof(ConversationResponse))]
[JsonSerializable(typeof(CreateConversationRequest))]
[JsonSerializable(typeof(MessagePage))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(AcceptedMessage))]
[JsonSerializable(typeof(MarkReadRequest))]
[JsonSerializable(typeof(MarkReadResponse))]
[JsonSerializable(typeof(UserDirectoryPage))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Chat4All.Contracts.Events.MessagePayload))]
[JsonSerializable(typeof(Auth.Profile))]
[JsonSerializable(typeof(Files.UploadState))]
internal sealed partial class CliJson : JsonSerializerContext;
