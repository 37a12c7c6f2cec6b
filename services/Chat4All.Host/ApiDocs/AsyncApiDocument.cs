using System.Text.Json.Nodes;
using Chat4All.BuildingBlocks.Outbox;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Contracts.Realtime;

namespace Chat4All.Host.ApiDocs;

/// <summary>
/// The AsyncAPI 3.0 document of the platform's asynchronous contract, served at
/// <c>/asyncapi/v1.json</c>: the WebSocket <c>/ws</c> (every frame each way) and the bus topics
/// (one event record each). Every payload schema is generated from the same records the code
/// serializes (<see cref="ContractSchemas"/>), so the document cannot describe a shape the wire does
/// not have (docs/adr/0056).
/// </summary>
public static class AsyncApiDocument
{
    public const string Path = "/asyncapi/v1.json";

    /// <summary>A frame type, which way it goes, its <c>data</c> record (null: no data) and what it means.</summary>
    public sealed record FrameContract(string Type, bool FromServer, Type? Data, string Summary);

    public static readonly IReadOnlyList<FrameContract> Frames =
    [
        new(FrameTypes.ConnectionEstablished, true, typeof(ConnectionEstablishedData), "First frame of every connection: who you are and the heartbeat interval."),
        new(FrameTypes.MessageCreated, true, typeof(MessageCreatedData), "A message was accepted into one of your conversations (live, or replayed by resume)."),
        new(FrameTypes.MessageUpdated, true, typeof(MessageUpdatedData), "A text message was edited; seq is the edit's own position in the conversation."),
        new(FrameTypes.MessageDeleted, true, typeof(MessageDeletedData), "A message was deleted; it stays in history as a tombstone at message_seq."),
        new(FrameTypes.MessageStatusUpdated, true, typeof(MessageStatusUpdatedData), "A delivery of a message moved on."),
        new(FrameTypes.ConversationRead, true, typeof(ConversationReadData), "A member's read position moved."),
        new(FrameTypes.PresenceChanged, true, typeof(PresenceChangedData), "A correspondent came online or went offline."),
        new(FrameTypes.ConversationMemberAdded, true, typeof(ConversationMemberAddedData), "The group's owner added members (the new members get it too)."),
        new(FrameTypes.ConversationMemberRemoved, true, typeof(ConversationMemberRemovedData), "A member left the group or was removed (they get it too)."),
        new(FrameTypes.ConversationUpdated, true, typeof(ConversationUpdatedData), "The group was renamed or its description changed."),
        new(FrameTypes.Resumed, true, typeof(ResumedData), "A resume of one conversation is done."),
        new(FrameTypes.Error, true, typeof(ErrorData), "A frame of yours was refused; the connection stays open."),
        new(FrameTypes.Ping, true, null, "Heartbeat: answer with pong, or the connection is closed."),
        new(FrameTypes.Pong, false, null, "The answer to a ping."),
        new(FrameTypes.Subscribe, false, typeof(SubscriptionData), "Receive the frames of one more conversation you are a member of."),
        new(FrameTypes.Unsubscribe, false, typeof(SubscriptionData), "Stop receiving one conversation's frames on this connection."),
        new(FrameTypes.Resume, false, typeof(ResumeData), "Replay every message after each given seq, then continue live (send it first after a reconnect)."),
    ];

    private static readonly Lazy<string> Json = new(() => Build().ToJsonString());

    /// <summary>The document, built once from the contract records.</summary>
    public static string ToJson() => Json.Value;

    public static JsonObject Build()
    {
        var schemas = new JsonObject();
        var messages = new JsonObject();
        var wsMessages = new JsonObject();
        var channels = new JsonObject();
        var operations = new JsonObject();

        foreach (var frame in Frames)
        {
            var name = FrameSchemaName(frame.Type);
            schemas[name] = FrameSchema(frame);
            messages[name] = new JsonObject
            {
                ["name"] = frame.Type,
                ["title"] = frame.Type,
                ["summary"] = frame.Summary,
                ["contentType"] = "application/json",
                ["payload"] = Ref("#/components/schemas/" + name),
            };
            wsMessages[name] = Ref("#/components/messages/" + name);
        }

        channels["ws"] = new JsonObject
        {
            ["address"] = "/ws",
            ["title"] = "WebSocket",
            ["description"] = "One socket per client session (docs/api.md §7). The access token comes in the Authorization header, " +
                "or as ?token= where a browser cannot set headers; a bad token closes the socket with 4001. Every frame is JSON text.",
            ["servers"] = new JsonArray(Ref("#/servers/host")),
            ["messages"] = wsMessages,
            ["bindings"] = new JsonObject
            {
                ["ws"] = new JsonObject
                {
                    ["method"] = "GET",
                    ["query"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject { ["token"] = new JsonObject { ["type"] = "string", ["description"] = "The access token (browsers)." } },
                    },
                },
            },
        };
        operations["sendServerFrames"] = Operation("send", "ws", "The server pushes these frames to the client.", Frames.Where(f => f.FromServer).Select(f => FrameSchemaName(f.Type)));
        operations["receiveClientFrames"] = Operation("receive", "ws", "The server accepts these frames from the client.", Frames.Where(f => !f.FromServer).Select(f => FrameSchemaName(f.Type)));

        // A topic may carry several event types (message.created: MessageCreated, MessageUpdated,
        // MessageDeleted); its channel lists a message for each.
        foreach (var (topic, type) in EventCatalog.Events)
        {
            var name = EventSchemaName(topic, type);
            var schema = ContractSchemas.Of(type).AsObject();
            schema["title"] = type.Name;
            schemas[name] = schema;
            messages[name] = new JsonObject
            {
                ["name"] = type.Name,
                ["title"] = type.Name,
                ["summary"] = $"The data of a CloudEvent of type '{type.Name}' on topic '{topic}'.",
                ["contentType"] = "application/json",
                ["payload"] = Ref("#/components/schemas/" + name),
            };
            var channel = ChannelName(topic);
            if (channels[channel] is JsonObject existing)
            {
                existing["messages"]!.AsObject()[name] = Ref("#/components/messages/" + name);
                operations["publish" + channel]!["messages"]!.AsArray().Add(Ref($"#/channels/{channel}/messages/{name}"));
                continue;
            }

            channels[channel] = new JsonObject
            {
                ["address"] = topic,
                ["title"] = topic,
                ["description"] = $"Bus topic '{topic}' (docs/api.md §10): partitioned by conversation id (user id for user.created), " +
                    "so one conversation's events keep their order.",
                ["servers"] = new JsonArray(Ref("#/servers/bus")),
                ["messages"] = new JsonObject { [name] = Ref("#/components/messages/" + name) },
            };
            operations["publish" + channel] = Operation("send", channel, $"A service publishes '{topic}' through its outbox.", [name]);
        }

        return new JsonObject
        {
            ["asyncapi"] = "3.0.0",
            ["info"] = new JsonObject
            {
                ["title"] = "Chat4All realtime and events",
                ["version"] = "v1",
                ["description"] = "The WebSocket /ws every client keeps open, and the integration events the services exchange on the bus. " +
                    "Every frame is {type, timestamp, data} from the server and {type, data} from the client. The REST API is " +
                    "described at /openapi/v1.json.",
            },
            ["defaultContentType"] = "application/json",
            ["servers"] = new JsonObject
            {
                ["host"] = new JsonObject
                {
                    ["host"] = "127.0.0.1:8080",
                    ["protocol"] = "ws",
                    ["description"] = "Any Chat4All host whose --target includes realtime (wss:// when it serves TLS).",
                },
                ["bus"] = new JsonObject
                {
                    ["host"] = "127.0.0.1:56379",
                    ["protocol"] = "redis",
                    ["description"] = "Redis Streams in the standalone runtime; Kafka through Dapr pub/sub (CloudEvents) in the dapr runtime.",
                },
            },
            ["channels"] = channels,
            ["operations"] = operations,
            ["components"] = new JsonObject { ["schemas"] = schemas, ["messages"] = messages },
        };
    }

    /// <summary>The schema name of a frame type in <c>components/schemas</c> (e.g. <c>frame.message.created</c>).</summary>
    public static string FrameSchemaName(string type) => "frame." + type;

    /// <summary>
    /// The schema name of an event in <c>components/schemas</c>: <c>event.{topic}</c> for a topic's first
    /// type (e.g. <c>event.message.created</c>), <c>event.{topic}.{TypeName}</c> for a further one.
    /// </summary>
    public static string EventSchemaName(string topic, Type type) =>
        EventCatalog.Events.First(e => e.Topic == topic).EventType == type ? "event." + topic : $"event.{topic}.{type.Name}";

    /// <summary>Every schema name of a topic's event types.</summary>
    public static IReadOnlyList<string> EventSchemaNames(string topic) =>
        [.. EventCatalog.Events.Where(e => e.Topic == topic).Select(e => EventSchemaName(topic, e.EventType))];

    private static string ChannelName(string topic) => topic.Replace('.', '_');

    private static JsonObject FrameSchema(FrameContract frame)
    {
        var properties = new JsonObject { ["type"] = new JsonObject { ["const"] = frame.Type } };
        var required = new JsonArray("type");
        if (frame.FromServer)
        {
            properties["timestamp"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" };
            required.Add("timestamp");
        }

        if (frame.Data is { } data)
        {
            properties["data"] = ContractSchemas.Of(data);
            required.Add("data");
        }
        else
        {
            properties["data"] = new JsonObject { ["type"] = "null" };
        }

        return new JsonObject
        {
            ["type"] = "object",
            ["description"] = frame.Summary,
            ["properties"] = properties,
            ["required"] = required,
        };
    }

    private static JsonObject Operation(string action, string channel, string summary, IEnumerable<string> messageNames) => new()
    {
        ["action"] = action,
        ["channel"] = Ref("#/channels/" + channel),
        ["summary"] = summary,
        ["messages"] = new JsonArray([.. messageNames.Select(m => (JsonNode)Ref($"#/channels/{channel}/messages/{m}"))]),
    };

    private static JsonObject Ref(string pointer) => new() { ["$ref"] = pointer };
}
