using System.Text.Json;
using Chat4All.BuildingBlocks.EventBus;
using Chat4All.Contracts;
using Chat4All.Contracts.Events;
using Chat4All.Messaging.Data;
using Chat4All.Messaging.Receipts;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Messaging.Tests;

public sealed class StatusChangedTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    private Task ApplyAsync(Guid messageId, Guid conversationId, Guid recipient, string channel, string status, string? error = null) =>
        ApplyAsync(new MessageStatusChanged(messageId, conversationId, recipient, channel, "unknown", status, DateTimeOffset.UtcNow, error));

    private async Task ApplyAsync(MessageStatusChanged change)
    {
        var conversationId = change.ConversationId;
        await using var scope = platform.Host.Services.CreateAsyncScope();
        var consumer = ActivatorUtilities.CreateInstance<StatusChangedConsumer>(scope.ServiceProvider);
        await ((IIntegrationEventConsumer)consumer).HandleAsync(new IntegrationEvent(Guid.NewGuid(), Topics.MessageStatusChanged, nameof(MessageStatusChanged),
            conversationId.ToString(), JsonSerializer.Serialize(change, ContractJson.Options), DateTimeOffset.UtcNow), CancellationToken.None);
    }

    [Fact]
    public async Task StatusesOnlyMoveForwardWhateverOrderOrHowOftenEventsArrive()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (bob, asAlice, conversationId) = (pair.Bob, pair.AsAlice, pair.ConversationId);
        using var sent = await asAlice.SendTextAsync(conversationId, "track me");
        var messageId = (await sent.ReadJsonAsync()).GetProperty("message_id").GetGuid();

        await ApplyAsync(messageId, conversationId, bob.UserId, "whatsapp", "delivered");
        await ApplyAsync(messageId, conversationId, bob.UserId, "whatsapp", "sent"); // late, out of order
        await ApplyAsync(messageId, conversationId, bob.UserId, "whatsapp", "delivered"); // duplicate
        await ApplyAsync(messageId, conversationId, bob.UserId, "sms", "failed", "invalid recipient");
        await ApplyAsync(messageId, conversationId, bob.UserId, "sms", "delivered"); // failed is terminal

        var detail = await asAlice.GetJsonAsync($"/v1/messages/{messageId}");
        var deliveries = detail.GetProperty("deliveries").EnumerateArray().ToDictionary(d => d.GetProperty("channel").GetString()!);
        Assert.Equal("delivered", deliveries["whatsapp"].GetProperty("status").GetString());
        Assert.Equal("failed", deliveries["sms"].GetProperty("status").GetString());
        Assert.Equal("invalid recipient", deliveries["sms"].GetProperty("error").GetString());
        Assert.Equal("delivered", detail.GetProperty("status").GetString()); // the furthest any delivery got

        await ApplyAsync(messageId, conversationId, bob.UserId, "whatsapp", "read");
        Assert.Equal("read", (await asAlice.GetJsonAsync($"/v1/messages/{messageId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AChannelChangeOutcomeLeavesTheStatusAloneAndTheLatestChangeWinsWhateverTheOrder()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (bob, asAlice, conversationId) = (pair.Bob, pair.AsAlice, pair.ConversationId);
        using var sent = await asAlice.SendTextAsync(conversationId, "change me");
        var messageId = (await sent.ReadJsonAsync()).GetProperty("message_id").GetGuid();
        await ApplyAsync(messageId, conversationId, bob.UserId, "telegram", "delivered");
        MessageStatusChanged Outcome(string outcome, long seq) =>
            new(messageId, conversationId, bob.UserId, "telegram", "delivered", "delivered", DateTimeOffset.UtcNow, ChannelChange: outcome, ChangeSeq: seq);

        await ApplyAsync(Outcome(ChannelChangeOutcomes.Recalled, 12));
        await ApplyAsync(Outcome(ChannelChangeOutcomes.Edited, 11)); // an earlier change's outcome, late
        await ApplyAsync(Outcome(ChannelChangeOutcomes.Recalled, 12)); // duplicate

        var telegram = (await asAlice.GetJsonAsync($"/v1/messages/{messageId}")).GetProperty("deliveries").EnumerateArray().Single();
        Assert.Equal(ChannelChangeOutcomes.Recalled, telegram.GetProperty("channel_change").GetString());
        Assert.Equal("delivered", telegram.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AMessageWhoseEveryDeliveryFailedIsFailed()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (bob, asAlice, conversationId) = (pair.Bob, pair.AsAlice, pair.ConversationId);
        using var sent = await asAlice.SendTextAsync(conversationId, "doomed");
        var messageId = (await sent.ReadJsonAsync()).GetProperty("message_id").GetGuid();

        await ApplyAsync(messageId, conversationId, bob.UserId, "sms", "failed", "carrier down");

        Assert.Equal("failed", (await asAlice.GetJsonAsync($"/v1/messages/{messageId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task AStatusForAnUnknownMessageWritesNothing()
    {
        var unknown = Guid.NewGuid();

        await ApplyAsync(unknown, Guid.NewGuid(), Guid.NewGuid(), "sms", "sent");

        await using var scope = platform.Host.Services.CreateAsyncScope();
        Assert.False(scope.ServiceProvider.GetRequiredService<MessagingDbContext>().Receipts.Any(r => r.MessageId == unknown));
    }
}
