using Chat4All.Contracts;

namespace Chat4All.Messaging.Tests;

public sealed class OutboxTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task EveryAcceptedMessageIsPublishedOnceInSeqOrderWithTheConversationAsPartitionKey()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (bob, asAlice, conversationId) = (pair.Bob, pair.AsAlice, pair.ConversationId);

        await Task.WhenAll(Enumerable.Range(0, 30).Select(i => asAlice.SendAndGetSeqAsync(conversationId, $"m{i}")));

        var events = await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated, 30,
            e => e.GetProperty("conversation_id").GetGuid() == conversationId);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), events.Select(e => e.GetProperty("seq").GetInt64()));
        Assert.All(events, e => Assert.Equal([bob.UserId], e.GetProperty("recipients").EnumerateArray().Select(r => r.GetGuid())));
    }

    [Fact]
    public async Task TwoInstancesRelayingTheSameOutboxKeepEachConversationsOrderAndPublishOnce()
    {
        var second = await platform.StartAnotherInstanceAsync();
        var alice = await platform.CreateUserAsync();
        using var viaFirst = await platform.CreateAuthenticatedClientAsync(alice);
        using var viaSecond = await platform.CreateAuthenticatedClientAsync(alice, second);
        var conversations = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            conversations.Add(await viaFirst.CreateConversationAsync("private", (await platform.CreateUserAsync()).UserId));
        }

        // Both instances accept sends and both run a relay over the one outbox table.
        await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            (i % 2 == 0 ? viaFirst : viaSecond).SendAndGetSeqAsync(conversations[i % 3], $"m{i}")));

        foreach (var conversationId in conversations)
        {
            var events = await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, Topics.MessageCreated, 20,
                e => e.GetProperty("conversation_id").GetGuid() == conversationId);
            Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), events.Select(e => e.GetProperty("seq").GetInt64()));
        }
    }
}
