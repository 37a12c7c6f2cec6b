using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Chat4All.Delivery.Deliveries;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat4All.Host.Tests.Dapr;

/// <summary>
/// The dapr runtime end to end: identity, messaging and delivery each as its own Dapr app (as dapr.yaml and
/// k8s/ run them) on one stand-in sidecar whose pub/sub behaves like daprd with Kafka (<see cref="DaprPubSubModel"/>).
/// A message crosses messaging → <c>message.created</c> → delivery → <c>message.status_changed</c> → messaging.
/// </summary>
public sealed class DaprEndToEndTests : IAsyncLifetime
{
    private readonly TemporaryDirectory _data = new();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly List<Chat4AllHost> _hosts = [];
    private TestDatabase _database = null!;
    private string _redis = null!;
    private FakeDaprSidecar _sidecar = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _redis = await TestInfrastructure.RedisConnectionStringAsync();
        _sidecar = await FakeDaprSidecar.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _sidecar.PubSub.DisposeAsync(); // no more deliveries into hosts being stopped
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await _sidecar.DisposeAsync();
        await _database.DisposeAsync();
        _data.Dispose();
    }

    [Fact]
    public async Task AMessageToAGroupOfThreeIsDeliveredToEveryoneAndTheSendersReceiptsFollowWithNothingDeadLettered()
    {
        var identity = await StartAsync(Targets.Identity);
        var messaging = await StartAsync(Targets.Messaging);
        var delivery = await StartAsync(Targets.Delivery);
        var alice = await identity.CreateUserAsync();
        var bob = await identity.CreateUserAsync();
        var carol = await identity.CreateUserAsync();
        using var aliceAtMessaging = await ClientAsync(identity, messaging, alice);
        foreach (var user in new[] { bob, carol })
        {
            await SetAddressAsync(identity, delivery, user, Channels.WhatsApp);
        }

        var conversationId = await CreateConversationAsync(aliceAtMessaging, "group", bob.UserId, carol.UserId);
        using var sent = await aliceAtMessaging.PostAsJsonAsync("/v1/messages",
            new { conversation_id = conversationId, payload = new { type = "text", text = "hello group" }, channels = new[] { Channels.WhatsApp } });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var messageId = (await sent.ReadJsonAsync()).GetProperty("message_id").GetGuid();

        // The sender's receipts, which messaging keeps from delivery's status events.
        var deliveries = await aliceAtMessaging.WaitForDeliveriesAsync(messageId, d => d.Count == 2 && d.All(x => x.GetProperty("status").GetString() == DeliveryStatuses.Delivered));

        Assert.Equal([bob.UserId, carol.UserId], deliveries.Select(d => d.GetProperty("recipient_id").GetGuid()).Order());
        Assert.Empty(_sidecar.PubSub.DeadLettered);
        var statusEvents = _sidecar.PubSub.Published.Where(r => r.Topic == Topics.MessageStatusChanged).ToList();
        Assert.NotEmpty(statusEvents);
        // Each status event as daprd sees it: our GUID id (not outbox-<uuid>), our type, JSON object data, the conversation as Kafka key.
        Assert.All(statusEvents, r =>
        {
            Assert.True(Guid.TryParse(r.Envelope["id"]!.GetValue<string>(), out _), r.CloudEvent);
            Assert.Equal("MessageStatusChanged", r.Envelope["type"]!.GetValue<string>());
            Assert.IsType<System.Text.Json.Nodes.JsonObject>(r.Envelope["data"]);
            Assert.Equal(conversationId.ToString(), r.PartitionKey, ignoreCase: true);
        });
        Assert.DoesNotContain(_sidecar.Calls, c => c.Path.Contains("State", StringComparison.Ordinal)); // no Dapr state API, no Dapr outbox
        Assert.All(_sidecar.PubSub.Deliveries.Where(d => d.Record.Topic == Topics.MessageStatusChanged), d => Assert.Equal("SUCCESS", d.Outcome));
    }

    [Fact]
    public async Task TheRecoverySweepFindsAPendingDeliveryThatAKilledInstanceLeftBehind()
    {
        var identity = await StartAsync(Targets.Identity);
        var messaging = await StartAsync(Targets.Messaging);
        var delivery = await StartAsync(Targets.Delivery);
        var alice = await identity.CreateUserAsync();
        var bob = await identity.CreateUserAsync();
        using var aliceAtMessaging = await ClientAsync(identity, messaging, alice);
        await SetAddressAsync(identity, delivery, bob, Channels.Sms);
        var conversationId = await CreateConversationAsync(aliceAtMessaging, "private", bob.UserId);
        using var sent = await aliceAtMessaging.PostAsJsonAsync("/v1/messages",
            new { conversation_id = conversationId, payload = new { type = "text", text = "left behind" }, channels = new[] { Channels.Sms } });
        var messageId = (await sent.ReadJsonAsync()).GetProperty("message_id").GetGuid();
        await aliceAtMessaging.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].GetProperty("status").GetString() == DeliveryStatuses.Delivered);

        // What an instance killed between routing and sending leaves: the record, still pending and due.
        var key = DeliveryRecord.KeyOf(messageId, bob.UserId, Channels.Sms);
        await using (var connection = new NpgsqlConnection(_database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var leftBehind = new NpgsqlCommand(
                "UPDATE delivery.state SET value = jsonb_set(value, '{status}', '\"pending\"') WHERE key = @key", connection);
            leftBehind.Parameters.AddWithValue("key", key);
            Assert.Equal(1, await leftBehind.ExecuteNonQueryAsync());
        }

        var found = await delivery.Services.GetRequiredService<DeliveryDispatcher>().SweepAsync(CancellationToken.None);

        Assert.True(found >= 1, "the sweep's status query matches the stored JSON (no base64-encoded values)");
        await using var scope = delivery.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IStateStore>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await store.GetAsync<JsonElement>(key, CancellationToken.None))!.Value.GetProperty("status").GetString() == DeliveryRecord.Pending)
        {
            Assert.True(DateTime.UtcNow < deadline, "the swept delivery was attempted again");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task AMergingUploadWhoseWorkflowFailedToStartIsScheduledAgainByTheSweep()
    {
        var identity = await StartAsync(Targets.Identity);
        var messaging = await StartAsync(Targets.Messaging);
        var files = await StartAsync(Targets.Files);
        var alice = await identity.CreateUserAsync();
        var bob = await identity.CreateUserAsync();
        using var aliceAtMessaging = await ClientAsync(identity, messaging, alice);
        using var aliceAtFiles = await ClientAsync(identity, files, alice);
        var conversationId = await CreateConversationAsync(aliceAtMessaging, "private", bob.UserId);
        var content = "%PDF-1.7 stand-in"u8.ToArray();

        // Files learns the conversation from conversation.created, through the stand-in's pub/sub.
        Guid uploadId = default;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (uploadId == default)
        {
            using var initiated = await aliceAtFiles.PostAsJsonAsync("/v1/files/initiate",
                new { conversation_id = conversationId, filename = "a.pdf", file_size = content.Length, mime_type = "application/pdf", chunk_size = 5 * 1024 * 1024 });
            if (initiated.StatusCode == HttpStatusCode.Created)
            {
                uploadId = (await initiated.ReadJsonAsync()).GetProperty("upload_id").GetGuid();
            }
            else
            {
                Assert.True(DateTime.UtcNow < deadline, await initiated.Content.ReadAsStringAsync());
                await Task.Delay(100);
            }
        }

        using var chunk = new ByteArrayContent(content) { Headers = { ContentType = new("application/octet-stream") } };
        using var stored = await aliceAtFiles.PostAsync($"/v1/files/{uploadId}/chunks?chunk_number=1", chunk);
        Assert.True(stored.IsSuccessStatusCode, await stored.Content.ReadAsStringAsync());
        _sidecar.WorkflowStartsToFail = 1;

        using var completed = await aliceAtFiles.PostAsync($"/v1/files/{uploadId}/complete", null);

        Assert.False(completed.IsSuccessStatusCode, "the workflow start failed after the upload moved to merging");
        var instanceId = "assemble-" + uploadId.ToString("N");
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (!_sidecar.StartedWorkflows.Contains(instanceId))
        {
            Assert.True(DateTime.UtcNow < deadline, "the sweep scheduled the merging upload's workflow again");
            await Task.Delay(100);
        }
    }

    private async Task<Chat4AllHost> StartAsync(string target)
    {
        var settings = _sidecar.HostSettings(target);
        if (_hosts.FirstOrDefault() is { } identity)
        {
            settings["Chat4All:Auth:Authority"] = identity.BaseAddress.ToString(); // discovery and keys from the identity app
        }

        settings["Chat4All:RateLimiting:Enabled"] = "false";
        settings["Chat4All:EventBus:KeyPrefix"] = "c4a-dapr-" + _suffix;
        settings["Chat4All:Delivery:Simulator:KeyPrefix"] = "c4a-dapr-sim-" + _suffix;
        settings["Chat4All:Delivery:Simulator:CallbackInitialRetryDelay"] = "00:00:00.200";
        settings["Chat4All:Files:AssemblySweepInterval"] = "00:00:00.500";
        foreach (var channel in Channels.All)
        {
            settings[$"Chat4All:Delivery:Channels:{channel}:LatencyMin"] = "00:00:00";
            settings[$"Chat4All:Delivery:Channels:{channel}:LatencyMax"] = "00:00:00.010";
            settings[$"Chat4All:Delivery:Channels:{channel}:DeliveredDelay"] = "00:00:00.100";
            settings[$"Chat4All:Delivery:Channels:{channel}:ReadProbability"] = "0";
            settings[$"Chat4All:Delivery:Channels:{channel}:TransientFailureRate"] = "0";
        }

        var host = await new Chat4AllHost(_database.ConnectionString, _redis, _data.Path, settings).StartAsync();
        _hosts.Add(host);
        await _sidecar.PubSub.AttachAsync(target, host.BaseAddress);
        return host;
    }

    /// <summary>Retries 422 <c>unknown_members</c> until messaging has consumed the new users' <c>user.created</c>.</summary>
    private static async Task<Guid> CreateConversationAsync(HttpClient atMessaging, string type, params Guid[] members)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var created = await atMessaging.PostAsJsonAsync("/v1/conversations", new { type, members });
            if (created.StatusCode == HttpStatusCode.UnprocessableEntity && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
                continue;
            }

            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            return (await created.ReadJsonAsync()).GetProperty("conversation_id").GetGuid();
        }
    }

    private static async Task SetAddressAsync(Chat4AllHost identity, Chat4AllHost delivery, TestUser user, string channel)
    {
        using var atDelivery = await ClientAsync(identity, delivery, user);
        using var set = await atDelivery.PutAsJsonAsync($"/v1/me/channels/{channel}", new { address = "+1444" + Random.Shared.NextInt64(1_000_000_000L, 9_999_999_999L) });
        Assert.True(set.StatusCode == HttpStatusCode.OK, await set.Content.ReadAsStringAsync());
    }

    // Tokens come from identity, as the Ingress routes /auth there; every app accepts them.
    private static async Task<HttpClient> ClientAsync(Chat4AllHost identity, Chat4AllHost app, TestUser user)
    {
        using var tokens = identity.CreateHttpClient();
        var token = await OAuth.RequestTokenAsync(tokens, user);
        var client = app.CreateHttpClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token.AccessToken);
        return client;
    }
}
