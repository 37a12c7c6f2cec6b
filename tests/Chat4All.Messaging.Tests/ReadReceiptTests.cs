using System.Net;
using System.Net.Http.Json;
using Chat4All.Contracts;

namespace Chat4All.Messaging.Tests;

public sealed class ReadReceiptTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    [Fact]
    public async Task ReadingMovesThePositionMarksTheMessagesReadAndPublishesConversationRead()
    {
        using var pair = await platform.Host.CreatePairAsync();
        var (bob, asAlice, asBob, conversationId) = (pair.Bob, pair.AsAlice, pair.AsBob, pair.ConversationId);
        for (var i = 0; i < 5; i++)
        {
            await asAlice.SendAndGetSeqAsync(conversationId, $"m{i}");
        }

        using var partial = await asBob.PostAsJsonAsync($"/v1/conversations/{conversationId}/read", new { up_to_seq = 3 });
        using var rest = await asBob.PostAsJsonAsync($"/v1/conversations/{conversationId}/read", new { });
        using var backwards = await asBob.PostAsJsonAsync($"/v1/conversations/{conversationId}/read", new { up_to_seq = 1 });

        var first = await partial.ReadJsonAsync();
        Assert.Equal(3, first.GetProperty("read_up_to_seq").GetInt64());
        Assert.Equal(3, first.GetProperty("messages_marked_read").GetInt32());
        var second = await rest.ReadJsonAsync();
        Assert.Equal(5, second.GetProperty("read_up_to_seq").GetInt64());
        Assert.Equal(2, second.GetProperty("messages_marked_read").GetInt32());
        var third = await backwards.ReadJsonAsync();
        Assert.Equal(5, third.GetProperty("read_up_to_seq").GetInt64()); // never moves back
        Assert.Equal(0, third.GetProperty("messages_marked_read").GetInt32());

        var history = await asAlice.GetJsonAsync($"/v1/conversations/{conversationId}/messages");
        Assert.All(history.GetProperty("messages").EnumerateArray(), m => Assert.Equal("read", m.GetProperty("status").GetString()));
        var detail = await asAlice.GetJsonAsync($"/v1/messages/{history.GetProperty("messages")[0].GetProperty("message_id").GetGuid()}");
        var delivery = detail.GetProperty("deliveries").EnumerateArray().Single();
        Assert.Equal(bob.UserId, delivery.GetProperty("recipient_id").GetGuid());
        Assert.Equal("read", delivery.GetProperty("status").GetString());

        var list = await asBob.GetJsonAsync("/v1/conversations");
        Assert.Equal(0, list.GetProperty("items")[0].GetProperty("unread_count").GetInt64());

        var reads = await PublishedEvents.WaitForAsync(platform.Redis, platform.EventBusPrefix, Topics.ConversationRead, 2,
            e => e.GetProperty("conversation_id").GetGuid() == conversationId);
        Assert.Equal([3L, 5L], reads.Select(e => e.GetProperty("read_up_to_seq").GetInt64()));
        Assert.All(reads, e => Assert.Equal(bob.UserId, e.GetProperty("user_id").GetGuid()));
    }

    [Fact]
    public async Task ANonMemberCannotMarkAConversationRead()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var eve = await platform.CreateUserAsync();
        using var asAlice = await platform.CreateAuthenticatedClientAsync(alice);
        using var asEve = await platform.CreateAuthenticatedClientAsync(eve);
        var conversationId = await asAlice.CreateConversationAsync("private", bob.UserId);

        using var response = await asEve.PostAsJsonAsync($"/v1/conversations/{conversationId}/read", new { });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
