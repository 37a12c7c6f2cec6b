using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat4All.Contracts.Events;
using Chat4All.Contracts.Realtime;
using Json.Schema;

namespace Chat4All.Realtime.Tests;

/// <summary>A platform whose sockets are pinged every second, so a short session sees every server frame type.</summary>
public sealed class WireContractPlatform : RealtimePlatform
{
    public WireContractPlatform()
    {
        ExtraSettings["Chat4All:Realtime:HeartbeatInterval"] = "00:00:01";
        ExtraSettings["Chat4All:Realtime:PongTimeout"] = "00:00:00.800";
    }
}

/// <summary>
/// What really crosses the wire matches the AsyncAPI document the host serves (/asyncapi/v1.json):
/// every frame of a real WebSocket session, each way, and every event the outboxes put on the bus,
/// validated against the JSON Schema the document gives its type.
/// </summary>
public sealed class WireContractTests(WireContractPlatform platform) : IClassFixture<WireContractPlatform>
{
    /// <summary>The server frame types the session below produces; a frame type added later needs its own traffic here.</summary>
    private static readonly string[] SessionFrames =
    [
        FrameTypes.ConnectionEstablished, FrameTypes.MessageCreated, FrameTypes.MessageStatusUpdated, FrameTypes.ConversationRead,
        FrameTypes.PresenceChanged, FrameTypes.Resumed, FrameTypes.Error, FrameTypes.Ping,
    ];

    private static readonly EvaluationOptions Strict = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    [Fact]
    public async Task EveryFrameOfARealSessionAndEveryEventOnTheBusValidatesAgainstItsAsyncApiSchema()
    {
        var schemas = await SchemasAsync();
        using var alice = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using (var address = await bob.Client.PutAsJsonAsync("/v1/me/channels/sms", new { address = "+1777" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999) }))
        {
            address.EnsureSuccessStatusCode();
        }

        var conversationId = await alice.CreateConversationAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(platform.Host);
        var bobSocket = await bob.ConnectAsync(platform.Host);
        var received = new List<JsonElement>();

        var (_, seq) = await alice.SendAsync(conversationId, "hello over the wire", ["sms"]);
        await CollectUntilAsync(bobSocket, received, FrameTypes.MessageCreated);
        var (reply, _) = await bob.SendAsync(conversationId, "hello back", ["sms"]); // now they are correspondents: presence flows
        await CollectUntilAsync(aliceSocket, received, FrameTypes.MessageCreated, d => d.GetProperty("message_id").GetGuid() == reply);
        // Alice reads bob's reply (her own message never was unread); every member's sockets hear of it.
        using (var read = await alice.Client.PostAsJsonAsync($"/v1/conversations/{conversationId}/read", new { up_to_seq = seq + 1 }))
        {
            read.EnsureSuccessStatusCode();
        }

        // The client's frames, as the server reads them (each is validated against its schema below too).
        List<object> sent =
        [
            new { type = FrameTypes.Subscribe, data = new { conversation_id = conversationId } },
            new { type = FrameTypes.Resume, data = new { positions = new Dictionary<Guid, long> { [conversationId] = 0 } } },
            new { type = "no.such.frame" },
        ];
        foreach (var frame in sent)
        {
            await aliceSocket.SendAsync(frame);
        }

        foreach (var type in new[] { FrameTypes.Resumed, FrameTypes.Error, FrameTypes.ConversationRead, FrameTypes.MessageStatusUpdated, FrameTypes.Ping })
        {
            if (!received.Any(f => f.GetProperty("type").GetString() == type))
            {
                await CollectUntilAsync(aliceSocket, received, type); // a ping is answered with a pong by the client
            }
        }

        var unsubscribe = new { type = FrameTypes.Unsubscribe, data = new { conversation_id = conversationId } };
        await aliceSocket.SendAsync(unsubscribe);
        sent.Add(unsubscribe);
        received.AddRange(await bobSocket.DrainAsync(TimeSpan.FromMilliseconds(200)));
        await bobSocket.DisposeAsync(); // bob's last connection: alice, his correspondent, sees him go offline
        await CollectUntilAsync(aliceSocket, received, FrameTypes.PresenceChanged, d => d.GetProperty("user_id").GetGuid() == bob.Id);
        received.AddRange(await aliceSocket.DrainAsync(TimeSpan.FromSeconds(1)));

        // Every frame type this session produces arrived, and the document has a schema for each (every frame is checked below).
        Assert.Superset(SessionFrames.ToHashSet(), received.Select(f => f.GetProperty("type").GetString()!).ToHashSet());
        Assert.Superset(SessionFrames.ToHashSet(), AsyncApiFrames(schemas, fromServer: true).ToHashSet());
        var failures = received.Select(f => Check(schemas, "frame." + f.GetProperty("type").GetString(), f))
            .Concat(sent.Select(f => JsonSerializer.SerializeToElement(f)).Where(f => f.GetProperty("type").GetString() != "no.such.frame")
                .Select(f => Check(schemas, "frame." + f.GetProperty("type").GetString(), f)))
            .Concat([Check(schemas, "frame.pong", JsonSerializer.SerializeToElement(new { type = FrameTypes.Pong }))])
            .OfType<string>().ToList();

        var checkedTopics = new List<string>();
        foreach (var topic in EventCatalog.Events.Select(e => e.Topic).Distinct())
        {
            // A topic with several event types: an event must validate against one of them.
            var names = Chat4All.Host.ApiDocs.AsyncApiDocument.EventSchemaNames(topic);
            var events = await PublishedEvents.ReadAsync(platform.Redis, platform.EventBusPrefix, topic, _ => true);
            failures.AddRange(events.Select(e => names.Select(n => Check(schemas, n, e)).Aggregate((a, b) => a is null || b is null ? null : a + "\n" + b)).OfType<string>());
            if (events.Count > 0)
            {
                checkedTopics.Add(topic);
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.Superset(
            new HashSet<string> { "user.created", "conversation.created", "message.created", "conversation.read", "message.status_changed", "presence.changed" },
            checkedTopics.ToHashSet());

        // The schemas are strict enough to notice a frame that lost a field or changed a type.
        var created = JsonNode.Parse(received.First(f => f.GetProperty("type").GetString() == FrameTypes.MessageCreated).GetRawText())!;
        created["data"]!.AsObject().Remove("message_id");
        Assert.NotNull(Check(schemas, "frame.message.created", JsonSerializer.SerializeToElement(created)));
        created["data"]!["seq"] = "not a number";
        Assert.NotNull(Check(schemas, "frame.message.created", JsonSerializer.SerializeToElement(created)));
    }

    [Fact]
    public async Task TheFramesOfAnEditADeleteAndAGroupsMembersAndNameValidateAgainstTheirAsyncApiSchemas()
    {
        var schemas = await SchemasAsync();
        using var owner = await platform.CreateMemberAsync();
        using var bob = await platform.CreateMemberAsync();
        using var carol = await platform.CreateMemberAsync();
        using var dave = await platform.CreateMemberAsync();
        var conversationId = await owner.CreateConversationAsync(bob, carol);
        await using var socket = await owner.ConnectAsync(platform.Host);
        var received = new List<JsonElement>();
        var (messageId, _) = await owner.SendAsync(conversationId, "to be edited");
        await CollectUntilAsync(socket, received, FrameTypes.MessageCreated, d => d.GetProperty("message_id").GetGuid() == messageId);

        // Each change, then its frame: an edit, a delete, a member added and removed, a rename.
        (HttpMethod Method, string Path, object? Body, string Frame)[] changes =
        [
            (HttpMethod.Patch, $"/v1/messages/{messageId}", new { text = "edited" }, FrameTypes.MessageUpdated),
            (HttpMethod.Delete, $"/v1/messages/{messageId}", null, FrameTypes.MessageDeleted),
            (HttpMethod.Post, $"/v1/conversations/{conversationId}/members", new { user_ids = new[] { dave.Id } }, FrameTypes.ConversationMemberAdded),
            (HttpMethod.Delete, $"/v1/conversations/{conversationId}/members/{dave.Id}", null, FrameTypes.ConversationMemberRemoved),
            (HttpMethod.Patch, $"/v1/conversations/{conversationId}", new { name = "renamed", description = (string?)null }, FrameTypes.ConversationUpdated),
        ];
        foreach (var (method, path, body, frame) in changes)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            using var response = await owner.Client.SendAsync(request);
            response.EnsureSuccessStatusCode();
            await CollectUntilAsync(socket, received, frame, d => d.GetProperty("conversation_id").GetGuid() == conversationId);
        }

        var types = received.Select(f => f.GetProperty("type").GetString()!).ToHashSet();
        Assert.Superset(changes.Select(c => c.Frame).ToHashSet(), types);
        var failures = received.Select(f => Check(schemas, "frame." + f.GetProperty("type").GetString(), f)).OfType<string>().ToList();
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        var renamed = received.Last(f => f.GetProperty("type").GetString() == FrameTypes.ConversationUpdated).GetProperty("data").GetProperty("metadata");
        Assert.Equal("renamed", renamed.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, renamed.GetProperty("description").ValueKind);
    }

    /// <summary>Reads every frame into <paramref name="received"/> until one of <paramref name="type"/> (matching) has arrived.</summary>
    private static async Task CollectUntilAsync(WsClient socket, List<JsonElement> received, string type, Func<JsonElement, bool>? match = null)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var frame = await socket.NextAnyAsync(TimeSpan.FromSeconds(30));
            received.Add(frame);
            if (frame.GetProperty("type").GetString() == type && (match is null || match(frame.GetProperty("data"))))
            {
                return;
            }

            if (limit.IsCancellationRequested)
            {
                throw new TimeoutException($"No '{type}' frame within 30 s; received: {string.Join(", ", received.Select(f => f.GetProperty("type").GetString()))}");
            }
        }
    }

    private async Task<JsonObject> SchemasAsync()
    {
        using var client = platform.Host.CreateHttpClient();
        var document = JsonNode.Parse(await client.GetStringAsync("/asyncapi/v1.json"))!;
        Assert.Equal("3.0.0", document["asyncapi"]!.GetValue<string>());
        return document["components"]!["schemas"]!.AsObject();
    }

    private static List<string> AsyncApiFrames(JsonObject schemas, bool fromServer) =>
        [.. schemas.Where(s => s.Key.StartsWith("frame.", StringComparison.Ordinal)
                && s.Value!["properties"]!["timestamp"] is not null == fromServer)
            .Select(s => s.Key["frame.".Length..])];

    /// <summary>Null when <paramref name="instance"/> is valid against the named schema; otherwise what is wrong.</summary>
    private static string? Check(JsonObject schemas, string name, JsonElement instance)
    {
        if (schemas[name] is not { } schema)
        {
            return $"{name}: no such schema in the AsyncAPI document ({instance.GetRawText()})";
        }

        var result = JsonSchema.FromText(schema.ToJsonString()).Evaluate(instance, Strict);
        return result.IsValid
            ? null
            : $"{name}: {instance.GetRawText()}\n  " + string.Join("\n  ", (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));
    }
}
