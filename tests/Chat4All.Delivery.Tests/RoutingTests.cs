using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Chat4All.Delivery.Deliveries;
using Chat4All.Delivery.Simulator;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Delivery.Tests;

/// <summary>message.created fans out to one delivery per recipient and channel, end to end through the simulated providers.</summary>
public sealed class RoutingTests(DeliveryPlatform platform) : IClassFixture<DeliveryPlatform>
{
    [Fact]
    public async Task AGroupMessageToThreeRecipientsOnTwoChannelsMakesSixDeliveriesThatAllReachDelivered()
    {
        var (sender, asSender) = await platform.CreateReachableUserAsync();
        var recipients = new List<TestUser>();
        for (var i = 0; i < 3; i++)
        {
            recipients.Add((await platform.CreateReachableUserAsync(Channels.WhatsApp, Channels.Sms, Channels.Telegram)).User);
        }

        var conversationId = await asSender.CreateConversationAsync("group", [.. recipients.Select(r => r.UserId)]);
        var messageId = await asSender.SendAsync(conversationId, "hello all", [Channels.WhatsApp, Channels.Sms]);

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 6 && d.All(x => x.Status() == DeliveryStatuses.Delivered));
        Assert.Equal(
            recipients.SelectMany(r => new[] { (r.UserId, "sms"), (r.UserId, "whatsapp") }).Order().ToList(),
            deliveries.Select(d => (d.GetProperty("recipient_id").GetGuid(), d.Channel())).Order().ToList());
        Assert.DoesNotContain(deliveries, d => d.GetProperty("recipient_id").GetGuid() == sender.UserId);
    }

    [Fact]
    public async Task ARepublishedMessageCreatedEventCreatesNoDuplicateDeliveries()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Messenger);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "once", [Channels.Messenger]);
        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Delivered);
        var simulator = platform.Host.Services.GetRequiredService<ChannelSimulator>();
        var sentBefore = await simulator.GetAcceptedCountAsync(Channels.Messenger);

        // The same fact under a new event id gets past event-id dedupe: only the natural key can stop it.
        var original = (await PublishedEvents.ReadAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated,
            e => e.GetProperty("message_id").GetGuid() == messageId)).Single();
        var bus = platform.Host.Services.GetRequiredService<IEventBus>();
        for (var i = 0; i < 3; i++)
        {
            await bus.PublishAsync(new IntegrationEvent(Guid.CreateVersion7(), Topics.MessageCreated, "MessageCreated", conversationId.ToString(),
                original.GetRawText(), DateTimeOffset.UtcNow), CancellationToken.None);
        }

        await WaitUntilConsumedAsync(conversationId, messageId);
        var deliveries = await asSender.WaitForDeliveriesAsync(messageId, d => d.Count >= 1);
        Assert.Single(deliveries);
        Assert.Equal(sentBefore, await simulator.GetAcceptedCountAsync(Channels.Messenger));
        Assert.NotNull(await simulator.GetProviderMessageAsync(Channels.Messenger, DeliveryRecord.IdOf(messageId, bob.UserId, Channels.Messenger)));
    }

    [Fact]
    public async Task AllChannelsMeansEveryChannelTheRecipientCanBeReachedOn()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Instagram, Channels.Telegram);
        var (carol, _) = await platform.CreateReachableUserAsync(); // in-app only
        var conversationId = await asSender.CreateConversationAsync("group", bob.UserId, carol.UserId);

        var messageId = await asSender.SendAsync(conversationId, "everywhere", [Channels.AllKeyword]);

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 2 && d.All(x => x.Status() is "delivered" or "read"));
        Assert.Equal(["instagram", "telegram"], deliveries.Select(d => d.Channel()).Order());
        Assert.All(deliveries, d => Assert.Equal(bob.UserId, d.GetProperty("recipient_id").GetGuid()));
    }

    [Fact]
    public async Task WithChannelsOmittedEachRecipientGetsOneDeliveryOnTheFirstChannelOfTheirOwnOrder()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Sms, Channels.Telegram);
        var (carol, asCarol) = await platform.CreateReachableUserAsync(Channels.Telegram, Channels.WhatsApp);
        var (dave, _) = await platform.CreateReachableUserAsync(); // in-app only
        using (var reorder = await asCarol.PutAsJsonAsync("/v1/me/channels/order", new { channels = new[] { Channels.WhatsApp } }))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, reorder.StatusCode);
        }

        var conversationId = await asSender.CreateConversationAsync("group", bob.UserId, carol.UserId, dave.UserId);
        var messageId = await asSender.SendAsync(conversationId, "the way you like it");

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId, d => d.Count >= 2 && d.All(x => x.Status() == DeliveryStatuses.Delivered));
        Assert.Equal(
            new[] { (bob.UserId, Channels.Sms), (carol.UserId, Channels.WhatsApp) }.Order().ToList(),
            deliveries.Select(d => (d.GetProperty("recipient_id").GetGuid(), d.Channel())).Order().ToList());
        var message = await GetJsonAsync(asSender, $"/v1/messages/{messageId}");
        Assert.Equal([Channels.DefaultKeyword], message.GetProperty("channels").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task WithChannelsOmittedAPermanentFailureFallsBackToTheRecipientsNextChannelAndNoFurther()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, asBob) = await platform.CreateReachableUserAsync();
        // Bob's first choice is an SMS number the simulated provider does not know (a permanent failure).
        foreach (var (channel, address) in new[]
            {
                (Channels.Sms, "+1555099" + Random.Shared.Next(1000, 9999)), (Channels.Instagram, DeliveryPlatform.UniqueAddress(Channels.Instagram)),
                (Channels.Telegram, DeliveryPlatform.UniqueAddress(Channels.Telegram)),
            })
        {
            using var set = await asBob.PutAsJsonAsync($"/v1/me/channels/{channel}", new { address });
            Assert.Equal(System.Net.HttpStatusCode.OK, set.StatusCode);
        }

        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "find me");

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId,
            d => d.Any(x => x.Channel() == Channels.Instagram && x.Status() == DeliveryStatuses.Delivered));
        var sms = deliveries.Single(d => d.Channel() == Channels.Sms);
        Assert.Equal(DeliveryStatuses.Failed, sms.Status());
        Assert.Contains("recipient_unknown", sms.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(Channels.Sms, deliveries.Single(d => d.Channel() == Channels.Instagram).GetProperty("fallback_from").GetString());
        Assert.Equal(2, deliveries.Count); // delivered on instagram: telegram, further down the list, is never tried
    }

    [Fact]
    public async Task ReadReportsFromTheProviderMoveTheDeliveryToRead()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Telegram);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);

        var messageId = await asSender.SendAsync(conversationId, "read me", [Channels.Telegram]);

        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].Status() == DeliveryStatuses.Read);
        var message = await GetJsonAsync(asSender, $"/v1/messages/{messageId}");
        Assert.Equal(DeliveryStatuses.Read, message.GetProperty("status").GetString());
    }

    [Fact]
    public async Task ANamedChannelWithoutAnAddressFailsWithTheReason()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Sms);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);

        var messageId = await asSender.SendAsync(conversationId, "where are you", [Channels.WhatsApp, Channels.Sms]);

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId,
            d => d.Count == 2 && d.Any(x => x.Status() == "failed") && d.Any(x => x.Status() == "delivered"));
        var failed = deliveries.Single(d => d.Status() == "failed");
        Assert.Equal(Channels.WhatsApp, failed.Channel());
        Assert.Contains("no_channel_address", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    private async Task WaitUntilConsumedAsync(Guid conversationId, Guid messageId)
    {
        // The republished copies are handled once the delivery group has no pending entries left.
        using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(platform.Redis);
        var db = redis.GetDatabase();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            long pending = 0;
            long lag = 0;
            for (var shard = 0; shard < 8; shard++)
            {
                var key = $"{platform.EventBusPrefix}:stream:{Topics.MessageCreated}:{shard}";
                if (!await db.KeyExistsAsync(key))
                {
                    continue;
                }

                foreach (var group in await db.StreamGroupInfoAsync(key))
                {
                    if (group.Name == Targets.Delivery)
                    {
                        pending += group.PendingMessageCount;
                        lag += group.Lag ?? 0;
                    }
                }
            }

            if (pending == 0 && lag == 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"message.created copies of {messageId} in {conversationId} were not consumed in time");
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return await response.ReadJsonAsync();
    }
}
