using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Chat4All.Delivery.ChannelChanges;
using Chat4All.Delivery.Data;
using Chat4All.Delivery.Deliveries;
using Chat4All.Delivery.Simulator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Delivery.Tests;

/// <summary>The delivery platform with WhatsApp's edit window shut, so an edit there is always too late.</summary>
public sealed class ChannelChangePlatform() : DeliveryPlatform(new Dictionary<string, string?>
{
    ["Chat4All:Delivery:Channels:whatsapp:EditWindow"] = "00:00:00",
});

/// <summary>
/// Edits and deletes reach the channels whose provider allows them, once, in order, best effort:
/// the simulated provider's own record shows what it did, and each delivery shows the outcome.
/// </summary>
public sealed class ChannelChangeTests(ChannelChangePlatform platform) : IClassFixture<ChannelChangePlatform>
{
    [Fact]
    public async Task AnEditChangesTheTextWhereTheProviderAllowsItAndEveryDeliveryShowsWhatHappened()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Telegram, Channels.WhatsApp, Channels.Sms, Channels.Instagram);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "see you at 5",
            [Channels.Telegram, Channels.WhatsApp, Channels.Sms, Channels.Instagram]);
        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 4 && d.All(Reached));

        await EditAsync(asSender, messageId, "see you at 6");

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 4 && d.All(x => Outcome(x) is not null));
        Assert.Equal(ChannelChangeOutcomes.Edited, Outcome(deliveries.Single(d => d.Channel() == Channels.Telegram)));
        Assert.Equal(ChannelChangeOutcomes.EditWindowExpired, Outcome(deliveries.Single(d => d.Channel() == Channels.WhatsApp)));
        Assert.Equal(ChannelChangeOutcomes.EditUnsupported, Outcome(deliveries.Single(d => d.Channel() == Channels.Sms)));
        Assert.Equal(ChannelChangeOutcomes.EditUnsupported, Outcome(deliveries.Single(d => d.Channel() == Channels.Instagram)));
        Assert.All(deliveries, d => Assert.True(Reached(d), d.Status()));

        var telegram = await ProviderMessageAsync(messageId, bob.UserId, Channels.Telegram);
        Assert.Equal("see you at 6", telegram.GetProperty("text").GetString());
        var edit = Assert.Single(telegram.GetProperty("changes").EnumerateArray());
        Assert.Equal("edit", edit.GetProperty("kind").GetString());
        Assert.Equal("see you at 6", edit.GetProperty("text").GetString());
        foreach (var untouched in new[] { Channels.WhatsApp, Channels.Sms, Channels.Instagram })
        {
            var message = await ProviderMessageAsync(messageId, bob.UserId, untouched);
            Assert.Equal("see you at 5", message.GetProperty("text").GetString());
            Assert.Empty(message.GetProperty("changes").EnumerateArray());
        }
    }

    [Fact]
    public async Task ADeleteRecallsTheMessageWhereTheProviderAllowsIt()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Telegram, Channels.Instagram, Channels.Messenger, Channels.Sms);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "oops, wrong chat",
            [Channels.Telegram, Channels.Instagram, Channels.Messenger, Channels.Sms]);
        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 4 && d.All(Reached));

        using (var deleted = await asSender.DeleteAsync($"/v1/messages/{messageId}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        var deliveries = await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 4 && d.All(x => Outcome(x) is not null));
        Assert.Equal(
            [
                (Channels.Instagram, ChannelChangeOutcomes.Recalled), (Channels.Messenger, ChannelChangeOutcomes.RecallUnsupported),
                (Channels.Sms, ChannelChangeOutcomes.RecallUnsupported), (Channels.Telegram, ChannelChangeOutcomes.Recalled),
            ],
            deliveries.Select(d => (d.Channel(), Outcome(d))).OrderBy(d => d.Item1, StringComparer.Ordinal));
        foreach (var recalled in new[] { Channels.Telegram, Channels.Instagram })
        {
            var message = await ProviderMessageAsync(messageId, bob.UserId, recalled);
            Assert.Equal(JsonValueKind.Null, message.GetProperty("text").ValueKind);
            Assert.NotEqual(JsonValueKind.Null, message.GetProperty("recalled_at").ValueKind);
            Assert.Equal("recall", Assert.Single(message.GetProperty("changes").EnumerateArray()).GetProperty("kind").GetString());
        }

        Assert.Equal("oops, wrong chat", (await ProviderMessageAsync(messageId, bob.UserId, Channels.Messenger)).GetProperty("text").GetString());
    }

    [Fact]
    public async Task ARedeliveredEditEventOrARepeatedProviderCallEditsOnlyOnce()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Telegram);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "first", [Channels.Telegram]);
        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && Reached(d[0]));
        await EditAsync(asSender, messageId, "second");
        await asSender.WaitForDeliveriesAsync(messageId, d => Outcome(d[0]) == ChannelChangeOutcomes.Edited);

        // The same edit under new event ids gets past event-id dedupe: only the (delivery, seq) key can stop it.
        var updated = (await PublishedEvents.ReadAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated,
            e => e.GetProperty("message_id").GetGuid() == messageId && e.TryGetProperty("edited_at", out _))).Single();
        var bus = platform.Host.Services.GetRequiredService<IEventBus>();
        for (var i = 0; i < 3; i++)
        {
            await bus.PublishAsync(new IntegrationEvent(Guid.CreateVersion7(), Topics.MessageCreated, "MessageUpdated", conversationId.ToString(),
                updated.GetRawText(), DateTimeOffset.UtcNow), CancellationToken.None);
        }

        // A later message of the conversation is routed after the copies (one ordered stream per conversation).
        var marker = await asSender.SendAsync(conversationId, "marker", [Channels.Telegram]);
        await asSender.WaitForDeliveriesAsync(marker, d => d.Count == 1 && Reached(d[0]));
        Assert.Equal(1, await ChangeRowsAsync(messageId));

        // A crash after the provider call but before the row was finished: the change runs again.
        await using (var scope = platform.Host.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<DeliveryDbContext>();
            Assert.Equal(1, await db.Database.ExecuteSqlAsync(
                $"UPDATE delivery.channel_changes SET status = {ChannelChange.Pending}, updated_at = now() WHERE message_id = {messageId}"));
        }

        platform.Host.Services.GetRequiredService<ChannelChangeWorker>().Notify();
        await WaitForChangeRowsAsync(messageId, ChannelChangeOutcomes.Edited);

        var telegram = await ProviderMessageAsync(messageId, bob.UserId, Channels.Telegram);
        Assert.Equal("second", telegram.GetProperty("text").GetString());
        Assert.Single(telegram.GetProperty("changes").EnumerateArray());
    }

    [Fact]
    public async Task AnEditAndThenADeleteReachTheProviderInTheirOrder()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Telegram);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "v1", [Channels.Telegram]);
        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && Reached(d[0]));

        await EditAsync(asSender, messageId, "v2");
        await EditAsync(asSender, messageId, "v3");
        using (var deleted = await asSender.DeleteAsync($"/v1/messages/{messageId}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        await asSender.WaitForDeliveriesAsync(messageId, d => Outcome(d[0]) == ChannelChangeOutcomes.Recalled);
        var changes = (await ProviderMessageAsync(messageId, bob.UserId, Channels.Telegram)).GetProperty("changes").EnumerateArray().ToList();
        Assert.Equal(["edit:v2", "edit:v3", "recall:"], changes.Select(c => $"{c.GetProperty("kind").GetString()}:{c.GetProperty("text").GetString()}"));
    }

    [Fact]
    public async Task AProviderOutageDuringAnEditIsRetriedUntilTheEditGoesThrough()
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (bob, _) = await platform.CreateReachableUserAsync(Channels.Telegram);
        var conversationId = await asSender.CreateConversationAsync("private", bob.UserId);
        var messageId = await asSender.SendAsync(conversationId, "draft", [Channels.Telegram]);
        await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && Reached(d[0]));
        var simulator = platform.Host.Services.GetRequiredService<ChannelSimulator>();

        await simulator.SetOutageAsync(Channels.Telegram, down: true);
        try
        {
            await EditAsync(asSender, messageId, "final");
            await WaitUntilAsync(async () => await AttemptsAsync(messageId) >= 1);
            Assert.Null(Outcome((await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1))[0]));
        }
        finally
        {
            await simulator.SetOutageAsync(Channels.Telegram, down: false);
        }

        await asSender.WaitForDeliveriesAsync(messageId, d => Outcome(d[0]) == ChannelChangeOutcomes.Edited);
        Assert.Equal("final", (await ProviderMessageAsync(messageId, bob.UserId, Channels.Telegram)).GetProperty("text").GetString());
        Assert.True(await AttemptsAsync(messageId) >= 2);
    }

    [Fact]
    public async Task ADeleteOfAMessageNotSentYetCancelsItsDelivery()
    {
        var (asSender, bob, simulator) = await SenderAndRecipientAsync(Channels.Instagram);
        Guid messageId;
        await simulator.SetOutageAsync(Channels.Instagram, down: true);
        try
        {
            messageId = await SendWhileDownAsync(asSender, bob, "never mind", Channels.Instagram);
            using var deleted = await asSender.DeleteAsync($"/v1/messages/{messageId}");
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            await asSender.WaitForDeliveriesAsync(messageId, d => Outcome(d[0]) == ChannelChangeOutcomes.Cancelled);
        }
        finally
        {
            await simulator.SetOutageAsync(Channels.Instagram, down: false);
        }

        // Well past the next retry: the cancelled delivery is never sent.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var delivery = (await asSender.WaitForDeliveriesAsync(messageId, d => d.Count == 1))[0];
        Assert.Equal(DeliveryStatuses.Failed, delivery.Status());
        Assert.Equal("message_deleted", delivery.GetProperty("error").GetString());
        Assert.Null(await simulator.GetProviderMessageAsync(Channels.Instagram, DeliveryRecord.IdOf(messageId, bob.UserId, Channels.Instagram)));
    }

    [Fact]
    public async Task AnEditOfAMessageNotSentYetIsSentWithTheNewText()
    {
        var (asSender, bob, simulator) = await SenderAndRecipientAsync(Channels.Sms);
        Guid messageId;
        await simulator.SetOutageAsync(Channels.Sms, down: true);
        try
        {
            messageId = await SendWhileDownAsync(asSender, bob, "meet at the gate", Channels.Sms);
            await EditAsync(asSender, messageId, "meet at the cafe");
            await asSender.WaitForDeliveriesAsync(messageId, d => Outcome(d[0]) == ChannelChangeOutcomes.EditedBeforeSend);
        }
        finally
        {
            await simulator.SetOutageAsync(Channels.Sms, down: false);
        }

        await asSender.WaitForDeliveriesAsync(messageId, d => Reached(d[0]));
        var sms = await ProviderMessageAsync(messageId, bob.UserId, Channels.Sms);
        Assert.Equal("meet at the cafe", sms.GetProperty("text").GetString());
        Assert.Empty(sms.GetProperty("changes").EnumerateArray());
    }

    [Fact]
    public async Task TheProviderRecordIsForAdminsOnlyAndUnknownMessagesAreNotFound()
    {
        using var user = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync());
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));

        using var forbidden = await user.GetAsync("/v1/admin/simulator/channels/telegram/messages/telegram.x");
        using var unknownChannel = await admin.GetAsync("/v1/admin/simulator/channels/fax/messages/fax.x");
        using var unknownMessage = await admin.GetAsync("/v1/admin/simulator/channels/telegram/messages/telegram.x");

        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownChannel.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownMessage.StatusCode);
        Assert.Equal("provider_message_not_found", (await unknownMessage.ReadJsonAsync()).GetProperty("code").GetString());
    }

    private async Task<(HttpClient Sender, TestUser Recipient, ChannelSimulator Simulator)> SenderAndRecipientAsync(string channel)
    {
        var (_, asSender) = await platform.CreateReachableUserAsync();
        var (recipient, _) = await platform.CreateReachableUserAsync(channel);
        return (asSender, recipient, platform.Host.Services.GetRequiredService<ChannelSimulator>());
    }

    /// <summary>Sends to a channel that is down and waits until the first attempt failed: the delivery is pending, a retry scheduled.</summary>
    private static async Task<Guid> SendWhileDownAsync(HttpClient sender, TestUser recipient, string text, string channel)
    {
        var conversationId = await sender.CreateConversationAsync("private", recipient.UserId);
        var messageId = await sender.SendAsync(conversationId, text, [channel]);
        await sender.WaitForDeliveriesAsync(messageId, d => d.Count == 1 && d[0].TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String);
        return messageId;
    }

    /// <summary>Delivered, or read (Telegram reads everything in this platform).</summary>
    private static bool Reached(JsonElement delivery) => delivery.Status() is DeliveryStatuses.Delivered or DeliveryStatuses.Read;

    private static string? Outcome(JsonElement delivery) =>
        delivery.TryGetProperty("channel_change", out var change) && change.ValueKind == JsonValueKind.String ? change.GetString() : null;

    private static async Task EditAsync(HttpClient client, Guid messageId, string text)
    {
        using var response = await client.PatchAsJsonAsync($"/v1/messages/{messageId}", new { text });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The message as the simulated provider holds it, read over the operators' API.</summary>
    private async Task<JsonElement> ProviderMessageAsync(Guid messageId, Guid recipientId, string channel)
    {
        var simulator = platform.Host.Services.GetRequiredService<ChannelSimulator>();
        var providerMessageId = await simulator.GetProviderMessageAsync(channel, DeliveryRecord.IdOf(messageId, recipientId, channel));
        Assert.NotNull(providerMessageId);
        using var admin = await platform.CreateAuthenticatedClientAsync(await platform.CreateUserAsync(ChatScopes.Admin));
        using var response = await admin.GetAsync($"/v1/admin/simulator/channels/{channel}/messages/{providerMessageId}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.ReadJsonAsync();
    }

    private async Task<int> ChangeRowsAsync(Guid messageId)
    {
        await using var scope = platform.Host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Set<ChannelChange>().CountAsync(c => c.MessageId == messageId);
    }

    private async Task<int> AttemptsAsync(Guid messageId)
    {
        await using var scope = platform.Host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Set<ChannelChange>()
            .Where(c => c.MessageId == messageId).SumAsync(c => c.Attempts);
    }

    private async Task WaitForChangeRowsAsync(Guid messageId, string status) =>
        await WaitUntilAsync(async () =>
        {
            await using var scope = platform.Host.Services.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<DeliveryDbContext>().Set<ChannelChange>()
                .Where(c => c.MessageId == messageId).AllAsync(c => c.Status == status);
        });

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 30 s.");
            await Task.Delay(100);
        }
    }
}
