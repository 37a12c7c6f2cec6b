using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Chat4All.Contracts;
using Chat4All.Delivery.Connectors;
using Chat4All.Delivery.Deliveries;
using Chat4All.Delivery.Simulator;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Delivery.Tests;

/// <summary>The inbound webhook believes only correctly signed, fresh, first-time webhooks; contacts' replies become messages.</summary>
public sealed class WebhookTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    private static readonly StandardWebhooks Signer = new(DeliveryPlatform.WhatsAppSecret);

    [Fact]
    public async Task AWebhookSignedWithAnotherSecretIsRejected()
    {
        var forger = new StandardWebhooks(StandardWebhooks.GenerateSecret());
        var body = StatusBody("pm-" + Guid.NewGuid(), "delivered");

        using var response = await PostAsync(forger, "msg_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow, body);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_signature", (await response.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task AWebhookWhoseBodyWasChangedAfterSigningIsRejected()
    {
        var id = "msg_" + Guid.NewGuid().ToString("N");
        var now = DateTimeOffset.UtcNow;
        var signed = StatusBody("pm-1", "delivered");
        var tampered = StatusBody("pm-1", "read");
        using var client = platform.Host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/whatsapp") { Content = new ByteArrayContent(tampered) };
        foreach (var (name, value) in Signer.CreateHeaders(id, now, signed))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task AWebhookWithAStaleTimestampOrNoSignatureIsRejected()
    {
        var body = StatusBody("pm-2", "delivered");
        using var stale = await PostAsync(Signer, "msg_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow.AddMinutes(-10), body);
        using var client = platform.Host.CreateHttpClient();
        using var unsigned = await client.PostAsync("/v1/webhooks/whatsapp", new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
    }

    [Fact]
    public async Task AReplayedWebhookIsRejectedAfterTheFirstOneWasProcessed()
    {
        var (providerMessageId, _, _) = await DeliveredWhatsAppMessageAsync();
        var id = "msg_" + Guid.NewGuid().ToString("N");
        var body = StatusBody(providerMessageId, "delivered");

        using var first = await PostAsync(Signer, id, DateTimeOffset.UtcNow, body);
        using var replay = await PostAsync(Signer, id, DateTimeOffset.UtcNow, body);

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode);
        Assert.Equal("webhook_replayed", (await replay.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task AReportAboutAnUnknownProviderMessageIsNotFoundSoTheProviderRetries()
    {
        using var response = await PostAsync(Signer, "msg_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow, StatusBody("pm-unknown", "delivered"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ABatchOfReportsMovesEveryDeliveryItNamesForwardAndNeverBack()
    {
        var (first, _, _) = await DeliveredWhatsAppMessageAsync();
        var (second, _, _) = await DeliveredWhatsAppMessageAsync();
        var now = DateTimeOffset.UtcNow;
        var batch = SimulatedWebhook.Batch([SimulatedWebhook.Status(first, "read", now), SimulatedWebhook.Status(second, "read", now),
            SimulatedWebhook.Status(first, "delivered", now)]);

        using var response = await PostAsync(Signer, "msg_" + Guid.NewGuid().ToString("N"), now, Encoding.UTF8.GetBytes(batch.ToJson()));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(DeliveryStatuses.Read, (await RecordOfAsync(first)).Status);
        Assert.Equal(DeliveryStatuses.Read, (await RecordOfAsync(second)).Status);
    }

    [Fact]
    public async Task ABatchNamingAnUnknownProviderMessageIsNotFoundButTheKnownReportsAreApplied()
    {
        var (known, _, _) = await DeliveredWhatsAppMessageAsync();
        var now = DateTimeOffset.UtcNow;
        var batch = SimulatedWebhook.Batch([SimulatedWebhook.Status("pm-unknown-" + Guid.NewGuid(), "read", now), SimulatedWebhook.Status(known, "read", now)]);

        using var response = await PostAsync(Signer, "msg_" + Guid.NewGuid().ToString("N"), now, Encoding.UTF8.GetBytes(batch.ToJson()));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(DeliveryStatuses.Read, (await RecordOfAsync(known)).Status);
    }

    private async Task<DeliveryRecord> RecordOfAsync(string providerMessageId)
    {
        await using var scope = platform.Host.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Data.DeliveryDbContext>();
        var key = db.ProviderMessages.Where(p => p.ProviderMessageId == providerMessageId).Select(p => p.DeliveryKey).Single();
        var store = scope.ServiceProvider.GetRequiredService<BuildingBlocks.StateStore.IStateStore>();
        return (await store.GetAsync<DeliveryRecord>(key, CancellationToken.None))!.Value;
    }

    [Theory]
    [InlineData("status")]
    [InlineData("inbound")]
    public async Task ASignedWebhookCarryingNulIsA400ProblemNotAServerError(string kind)
    {
        var (providerMessageId, conversationId, bob) = await DeliveredWhatsAppMessageAsync();
        var webhook = kind == "status"
            ? SimulatedWebhook.Status(providerMessageId + "\0", "read", DateTimeOffset.UtcNow)
            : SimulatedWebhook.Inbound("pm-" + Guid.NewGuid(), bob.Address, "nul\0inside", providerMessageId, DateTimeOffset.UtcNow);

        using var response = await PostAsync(Signer, "msg_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow, Encoding.UTF8.GetBytes(webhook.ToJson()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_webhook", (await response.ReadJsonAsync()).GetProperty("code").GetString());
        var history = await bob.Client.GetFromJsonAsync<JsonElement>($"/v1/conversations/{conversationId}/messages");
        Assert.Single(history.GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task AWebhookForAnUnknownChannelIsNotFound()
    {
        using var client = platform.Host.CreateHttpClient();
        using var response = await client.PostAsync("/v1/webhooks/carrier-pigeon", new ByteArrayContent("{}"u8.ToArray()));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task AContactsReplyOnTheChannelBecomesAMessageInTheConversation()
    {
        var (providerMessageId, conversationId, bob) = await DeliveredWhatsAppMessageAsync();
        var simulator = platform.Host.Services.GetRequiredService<ChannelSimulator>();

        await simulator.SimulateInboundAsync(Channels.WhatsApp, bob.Address, "got it, thanks", providerMessageId);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement reply = default;
        while (DateTime.UtcNow < deadline)
        {
            var history = await bob.Client.GetFromJsonAsync<JsonElement>($"/v1/conversations/{conversationId}/messages?after_seq=0");
            reply = history.GetProperty("messages").EnumerateArray().FirstOrDefault(m => m.GetProperty("sender_id").GetGuid() == bob.User.UserId);
            if (reply.ValueKind == JsonValueKind.Object)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(JsonValueKind.Object, reply.ValueKind);
        Assert.Equal("got it, thanks", reply.GetProperty("payload").GetProperty("text").GetString());
        Assert.Equal(2, reply.GetProperty("seq").GetInt64());
    }

    private async Task<(string ProviderMessageId, Guid ConversationId, (TestUser User, HttpClient Client, string Address) Bob)> DeliveredWhatsAppMessageAsync()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, asBob) = await platform.CreateReachableUserAsync(Channels.WhatsApp);
        var address = (await asBob.GetFromJsonAsync<JsonElement>("/v1/me/channels")).GetProperty("items")[0].GetProperty("address").GetString()!;
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "ping", [Channels.WhatsApp]);
        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Delivered);
        var simulator = platform.Host.Services.GetRequiredService<ChannelSimulator>();
        var providerMessageId = await simulator.GetProviderMessageAsync(Channels.WhatsApp, DeliveryRecord.IdOf(messageId, bob.UserId, Channels.WhatsApp));
        return (providerMessageId!, conversationId, (bob, asBob, address));
    }

    private async Task<HttpResponseMessage> PostAsync(StandardWebhooks signer, string id, DateTimeOffset timestamp, byte[] body)
    {
        using var client = platform.Host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/whatsapp") { Content = new ByteArrayContent(body) };
        foreach (var (name, value) in signer.CreateHeaders(id, timestamp, body))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await client.SendAsync(request);
    }

    private static byte[] StatusBody(string providerMessageId, string status) =>
        Encoding.UTF8.GetBytes(SimulatedWebhook.Status(providerMessageId, status, DateTimeOffset.UtcNow).ToJson());
}
