using System.Net;
using System.Net.Http.Json;
using Chat4All.BuildingBlocks.StateStore;
using Chat4All.Contracts;
using Chat4All.Delivery.Deliveries;
using Chat4All.Delivery.Simulator;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Delivery.Tests;

/// <summary>Transient failures are retried, permanent ones fail at once, and a message's fallback channel takes over.</summary>
public sealed class FailureTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    [Fact]
    public async Task ATransientFailureIsRetriedAndTheDeliverySucceeds()
    {
        var simulator = platform.Host.Services.GetRequiredService<ChannelSimulator>();
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Messenger);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        await simulator.SetOutageAsync(Channels.Messenger, true);

        var messageId = await asSender.SendAsync(conversationId, "try again", [Channels.Messenger]);
        var failedOnce = await WaitForRecordAsync(DeliveryRecord.KeyOf(messageId, bob.UserId, Channels.Messenger), r => r.Attempts >= 1 && r.LastError is not null);
        await simulator.SetOutageAsync(Channels.Messenger, false);

        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Delivered);
        var record = await WaitForRecordAsync(failedOnce.Key, r => r.Status == DeliveryStatuses.Delivered);
        Assert.True(record.Attempts >= 2, $"expected a retry, saw {record.Attempts} attempt(s)");
        Assert.Contains("provider_unavailable", failedOnce.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APermanentFailureFailsAtOnceAndIsDeadLetteredWithItsReason()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, asBob) = await platform.CreateReachableUserAsync();
        using (var set = await asBob.PutAsJsonAsync("/v1/me/channels/sms", new { address = "+1555099" + Random.Shared.Next(1000, 9999) }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "nobody home", [Channels.Sms]);

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Failed);
        Assert.Contains("recipient_unknown", deliveries[0].GetProperty("error").GetString(), StringComparison.Ordinal);
        var record = await WaitForRecordAsync(DeliveryRecord.KeyOf(messageId, bob.UserId, Channels.Sms), r => r.Status == DeliveryStatuses.Failed);
        Assert.Equal(1, record.Attempts);

        var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));
        var page = await admin.GetFromJsonAsync<System.Text.Json.JsonElement>("/v1/admin/deliveries/dead-letters?channel=sms&limit=100");
        var deadLetter = page.GetProperty("items").EnumerateArray().Single(d => d.GetProperty("message_id").GetGuid() == messageId);
        Assert.Equal(record.DeliveryId, deadLetter.GetProperty("delivery_id").GetGuid());
        Assert.Contains("recipient_unknown", deadLetter.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedWhatsAppDeliveryFallsBackToSmsAndRecordsTheFallback()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        // Bob cannot be reached on WhatsApp (no address there), so that delivery fails for good.
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Sms);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "reach me somehow", [Channels.WhatsApp], fallback: Channels.Sms);

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId,
            d => d.Count == 2 && d.Any(x => x.Channel() == "sms" && x.Status() == DeliveryStatuses.Delivered));
        var whatsapp = deliveries.Single(d => d.Channel() == Channels.WhatsApp);
        Assert.Equal(DeliveryStatuses.Failed, whatsapp.Status());
        Assert.Contains("no_channel_address", whatsapp.GetProperty("error").GetString(), StringComparison.Ordinal);
        var sms = deliveries.Single(d => d.Channel() == Channels.Sms);
        Assert.Equal(Channels.WhatsApp, sms.GetProperty("fallback_from").GetString());
    }

    private async Task<DeliveryRecord> WaitForRecordAsync(string key, Func<DeliveryRecord, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        DeliveryRecord? last = null;
        while (DateTime.UtcNow < deadline)
        {
            await using (var scope = platform.Host.Services.CreateAsyncScope())
            {
                last = (await scope.ServiceProvider.GetRequiredService<IStateStore>().GetAsync<DeliveryRecord>(key, CancellationToken.None))?.Value;
            }

            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Delivery {key} did not reach the expected state; last seen: {last}");
        return last!;
    }
}
